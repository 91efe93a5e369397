/* nosym.c -- a shared library that is not a smaxcheck plugin (no
 * smax_plugin_kernels): loading it must fail naming the file and the
 * missing symbol (tests/cli_compare.sh). */
int smax_not_a_plugin(void);
int smax_not_a_plugin(void) { return 42; }
