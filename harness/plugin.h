/* plugin.h -- loading third-party kernels from a shared library.
 *
 * A plugin is a shared object that includes impls/kernel.h and exports
 * SMAX_PLUGIN_SYMBOL ("smax_plugin_kernels"), a smax_plugin_fn returning its
 * descriptor table and the SMAX_ABI_VERSION it was compiled against.  Loading
 * runs the plugin's code (constructors and the table function) in this
 * process: `smaxcheck compare --plugin` therefore loads it in a child
 * (`smaxcheck serve`), never in the measuring process. */
#ifndef SMAXCHECK_PLUGIN_H
#define SMAXCHECK_PLUGIN_H
#include <stddef.h>
#include "kernel.h"

/* Load the plugin at path (a name without '/' is taken relative to the
 * current directory, not searched for on the library path), check its ABI
 * version and validate every descriptor: name non-empty, at most 64 bytes of
 * printable ASCII without spaces; func and format in range; run non-NULL;
 * only known flags; convention NULL or space-separated ids of [a-z0-9-];
 * about NULL or one printable line; claim fields finite and >= 0.
 * On success returns 0 with *kernels pointing to the plugin's own table of
 * *count (>= 1) descriptors, valid until plugin_unload(*kernels).  On error
 * returns -1, writes one line naming path (and the bad descriptor and field)
 * into err (errlen bytes), and leaves nothing loaded. */
int plugin_load(const char *path, const smax_kernel **kernels, size_t *count, char *err, size_t errlen);

/* Unload the plugin whose table plugin_load returned (dlclose).  Returns 0,
 * or -1 if kernels is not such a table.  Thread-safe with plugin_load. */
int plugin_unload(const smax_kernel *kernels);
#endif
