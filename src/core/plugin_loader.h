/*
 * plugin_loader.h - finding, vetting and loading check plugins.
 *
 * A plugin is <dir>/<name>.so.  Before dlopen() the file must be a regular
 * file owned by root or by us and writable by nobody else (the rule
 * Postfix applies to its dynamic maps: a writable plugin is a way in).
 * After dlopen(RTLD_NOW|RTLD_LOCAL) the descriptor's ABI major, minor,
 * struct size and name are checked before any plugin function is called.
 */
#ifndef MXP_PLUGIN_LOADER_H
#define MXP_PLUGIN_LOADER_H

#include <stddef.h>

#include "mxprobe/plugin.h"

struct mxp_loaded_plugin {
    char *name;
    char *path;
    void *handle;
    const struct mxp_plugin *desc;
    void *state;               /* from init() */
    struct mxp_node **trees;   /* config_parse() results, freed on unload */
    size_t n_trees;
};

/* The folders searched, in order: each entry of $MXPROBE_PLUGIN_PATH
 * (colon-separated), then <folder of the executable>/plugins (the build
 * tree) or <folder of the executable>/../lib/mxprobe/plugins (an
 * installed tree), the first that exists, else MXP_PLUGIN_DIR.
 * Returns a NULL-terminated array owned by the caller
 * (mxp_plugin_dirs_free). */
char **mxp_plugin_dirs(void);
void mxp_plugin_dirs_free(char **dirs);

/* Refuses files that are not regular, are group/world-writable or are
 * owned by another user than root or us. */
int mxp_plugin_check_file(const char *path, char *err, size_t errlen);

/* ABI checks on a descriptor (no plugin code runs). */
int mxp_plugin_check_descriptor(const struct mxp_plugin *d,
                                const char *expected_name, char *err,
                                size_t errlen);

/* Finds <name>.so in dirs, vets and loads it.  MXP_ERR_PLUGIN with a
 * sentence in err ("unknown check 'foo'" when no folder has it). */
int mxp_plugin_load(char *const *dirs, const char *name,
                    struct mxp_loaded_plugin *out, char *err, size_t errlen);
void mxp_plugin_unload(struct mxp_loaded_plugin *p);

/* Calls fn for each distinct plugin name found in dirs, sorted; a file
 * that cannot be loaded is reported with desc NULL and the reason. */
typedef void (*mxp_plugin_list_fn)(const char *name, const char *path,
                                   const struct mxp_plugin *desc,
                                   const char *error, void *user);
int mxp_plugin_list(char *const *dirs, mxp_plugin_list_fn fn, void *user);

/* The descriptor's MXP_PLUGIN_* flags; 0 for a descriptor older than ABI
 * 1.4, which ends before them. */
uint32_t mxp_plugin_flags(const struct mxp_plugin *d);

#endif
