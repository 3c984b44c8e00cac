/*
 * plugin_loader.c - find, vet and dlopen check plugins (plugin_loader.h).
 *
 * No plugin function is called before its descriptor passed the ABI
 * checks: the descriptor is plain data, read with dlsym().  (dlopen()
 * itself runs the object's ELF constructors; mxprobe plugins have none,
 * and the permission check before dlopen() is what keeps foreign code
 * out.)
 */
#include "plugin_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static int push_dir(char ***dirs, size_t *n, const char *dir, size_t len)
{
    char **p;

    if (len == 0)
        return MXP_OK;
    p = realloc(*dirs, (*n + 2) * sizeof(char *));
    if (p == NULL)
        return MXP_ERR_NOMEM;
    *dirs = p;
    p[*n] = strndup(dir, len);
    if (p[*n] == NULL)
        return MXP_ERR_NOMEM;
    (*n)++;
    p[*n] = NULL;
    return MXP_OK;
}

char **mxp_plugin_dirs(void)
{
    char **dirs = NULL;
    size_t n = 0;
    const char *env = getenv("MXPROBE_PLUGIN_PATH");
    char exe[PATH_MAX];
    ssize_t len;
    struct stat st;

    dirs = calloc(1, sizeof(char *));
    if (dirs == NULL)
        return NULL;
    if (env != NULL) {
        const char *p = env;
        while (*p != '\0') {
            const char *colon = strchr(p, ':');
            size_t l = colon ? (size_t)(colon - p) : strlen(p);
            if (push_dir(&dirs, &n, p, l) != MXP_OK)
                goto fail;
            p += l;
            if (*p == ':')
                p++;
        }
    }
    /* Next to the executable: build/mxprobe finds build/plugins, and an
     * installed PREFIX/bin/mxprobe finds PREFIX/lib/mxprobe/plugins
     * wherever PREFIX was moved to (DESTDIR staging, a relocated tree).
     * The first of these that exists is the one. */
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        static const char *const rel[] = {"plugins", "../lib/mxprobe/plugins"};
        char *slash;
        size_t k;

        exe[len] = '\0';
        slash = strrchr(exe, '/');
        for (k = 0; slash != NULL && k < 2; k++) {
            char dir[PATH_MAX];
            int w = snprintf(dir, sizeof(dir), "%.*s/%s", (int)(slash - exe),
                             exe, rel[k]);
            if (w < 0 || (size_t)w >= sizeof(dir))
                continue;
            if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
                if (push_dir(&dirs, &n, dir, strlen(dir)) != MXP_OK)
                    goto fail;
                return dirs;
            }
        }
    }
    if (push_dir(&dirs, &n, MXP_PLUGIN_DIR, strlen(MXP_PLUGIN_DIR)) != MXP_OK)
        goto fail;
    return dirs;
fail:
    mxp_plugin_dirs_free(dirs);
    return NULL;
}

void mxp_plugin_dirs_free(char **dirs)
{
    size_t i;

    if (dirs == NULL)
        return;
    for (i = 0; dirs[i] != NULL; i++)
        free(dirs[i]);
    free(dirs);
}

/* The ownership and mode rules, for the plugin file and its folder. */
static int check_stat(const char *path, const struct stat *st, int dir,
                      char *err, size_t errlen)
{
    if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: not a %s", path,
                 dir ? "folder" : "regular file");
        return MXP_ERR_PLUGIN;
    }
    /* A folder others can write to may still hold a safe plugin when it
     * is sticky (like /tmp): they cannot replace a file they do not own. */
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
        !(dir && (st->st_mode & S_ISVTX))) {
        snprintf(err, errlen,
                 "%s: refused: writable by group or others (chmod go-w)", path);
        return MXP_ERR_PLUGIN;
    }
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        snprintf(err, errlen,
                 "%s: refused: owned by uid %lu, not by root or by us", path,
                 (unsigned long)st->st_uid);
        return MXP_ERR_PLUGIN;
    }
    return MXP_OK;
}

int mxp_plugin_check_file(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return MXP_ERR_PLUGIN;
    }
    return check_stat(path, &st, 0, err, errlen);
}

int mxp_plugin_check_descriptor(const struct mxp_plugin *d,
                                const char *expected_name, char *err,
                                size_t errlen)
{
    if (d->abi_major != MXP_ABI_MAJOR) {
        snprintf(err, errlen,
                 "plugin ABI %u.%u, this mxprobe needs %d.x: rebuild the "
                 "plugin",
                 (unsigned)d->abi_major, (unsigned)d->abi_minor, MXP_ABI_MAJOR);
        return MXP_ERR_PLUGIN;
    }
    /* A newer minor may use services this core lacks; it would find them
     * NULL through svc->size, but it was promised them, so refuse. */
    if (d->abi_minor > MXP_ABI_MINOR) {
        snprintf(err, errlen,
                 "plugin ABI %u.%u is newer than this mxprobe's %d.%d",
                 (unsigned)d->abi_major, (unsigned)d->abi_minor, MXP_ABI_MAJOR,
                 MXP_ABI_MINOR);
        return MXP_ERR_PLUGIN;
    }
    /* ABI 1.4 appended flags; an older descriptor ends before them. */
    if (d->struct_size < (d->abi_minor >= 4 ? sizeof(struct mxp_plugin)
                                            : offsetof(struct mxp_plugin,
                                                       flags))) {
        snprintf(err, errlen, "plugin descriptor is %u bytes, expected %zu",
                 (unsigned)d->struct_size,
                 d->abi_minor >= 4 ? sizeof(struct mxp_plugin)
                                   : offsetof(struct mxp_plugin, flags));
        return MXP_ERR_PLUGIN;
    }
    if (d->name == NULL || d->run == NULL) {
        snprintf(err, errlen, "plugin descriptor lacks a name or run()");
        return MXP_ERR_PLUGIN;
    }
    if (expected_name != NULL && strcmp(d->name, expected_name) != 0) {
        snprintf(err, errlen, "plugin calls itself '%s', file says '%s'",
                 d->name, expected_name);
        return MXP_ERR_PLUGIN;
    }
    return MXP_OK;
}

static int valid_plugin_name(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* The folder of path must be safe too: whoever can write to it could
 * put another file in the plugin's place. */
static int check_folder(const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    struct stat st;
    int n;

    if (slash == NULL)
        n = snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        n = snprintf(dir, sizeof(dir), "/");
    else
        n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir) || stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: cannot check its folder", path);
        return MXP_ERR_PLUGIN;
    }
    return check_stat(dir, &st, 1, err, errlen);
}

static int load_path(const char *path, const char *name,
                     struct mxp_loaded_plugin *out, char *err, size_t errlen)
{
    char why[512];
    void *h;
    const struct mxp_plugin *d;
    int rc;

    /* Only root or we can write to the file and to its folder, so no one
     * else can swap the file between these checks and dlopen(). */
    rc = mxp_plugin_check_file(path, err, errlen);
    if (rc == MXP_OK)
        rc = check_folder(path, err, errlen);
    if (rc != MXP_OK)
        return rc;
    /* Not through /proc/self/fd/N: glibc knows loaded objects by name,
     * and a reused descriptor number would hand back another plugin. */
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(err, errlen, "%s: cannot load: %s", path, dlerror());
        return MXP_ERR_PLUGIN;
    }
    d = dlsym(h, MXP_PLUGIN_SYMBOL);
    if (d == NULL) {
        snprintf(err, errlen,
                 "%s: no '%s' descriptor: not an mxprobe "
                 "plugin",
                 path, MXP_PLUGIN_SYMBOL);
        dlclose(h);
        return MXP_ERR_PLUGIN;
    }
    rc = mxp_plugin_check_descriptor(d, name, why, sizeof(why));
    if (rc != MXP_OK) {
        snprintf(err, errlen, "%s: %s", path, why);
        dlclose(h);
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->name = strdup(name);
    out->path = strdup(path);
    if (out->name == NULL || out->path == NULL) {
        free(out->name);
        free(out->path);
        dlclose(h);
        return MXP_ERR_NOMEM;
    }
    out->handle = h;
    out->desc = d;
    return MXP_OK;
}

int mxp_plugin_load(char *const *dirs, const char *name,
                    struct mxp_loaded_plugin *out, char *err, size_t errlen)
{
    char path[PATH_MAX];
    size_t i;

    if (!valid_plugin_name(name)) {
        snprintf(err, errlen, "unknown check '%s' (see --list-plugins)", name);
        return MXP_ERR_PLUGIN;
    }
    for (i = 0; dirs[i] != NULL; i++) {
        int n = snprintf(path, sizeof(path), "%s/%s.so", dirs[i], name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        if (access(path, F_OK) == 0)
            return load_path(path, name, out, err, errlen);
    }
    snprintf(err, errlen, "unknown check '%s' (see --list-plugins)", name);
    return MXP_ERR_PLUGIN;
}

void mxp_plugin_unload(struct mxp_loaded_plugin *p)
{
    size_t i;

    if (p->desc != NULL && p->desc->free != NULL && p->state != NULL)
        p->desc->free(p->state);
    for (i = 0; i < p->n_trees; i++)
        mxp_node_free(p->trees[i]);
    free(p->trees);
    /* Under ASan, dlclose() would make leak reports point at unmapped
     * code; the process is about to end anyway. */
#if !defined(__SANITIZE_ADDRESS__)
    if (p->handle != NULL)
        dlclose(p->handle);
#endif
    free(p->name);
    free(p->path);
    memset(p, 0, sizeof(*p));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mxp_plugin_list(char *const *dirs, mxp_plugin_list_fn fn, void *user)
{
    char **names = NULL;
    size_t n = 0, i, d;
    int rc = MXP_OK;

    for (d = 0; dirs[d] != NULL; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *de;
        if (dir == NULL)
            continue;
        while ((de = readdir(dir)) != NULL) {
            size_t l = strlen(de->d_name);
            char **p;
            if (l < 4 || strcmp(de->d_name + l - 3, ".so") != 0)
                continue;
            p = realloc(names, (n + 1) * sizeof(char *));
            if (p == NULL) {
                rc = MXP_ERR_NOMEM;
                break;
            }
            names = p;
            names[n] = strndup(de->d_name, l - 3);
            if (names[n] == NULL) {
                rc = MXP_ERR_NOMEM;
                break;
            }
            n++;
        }
        closedir(dir);
        if (rc != MXP_OK)
            goto done;
    }
    if (n > 0)
        qsort(names, n, sizeof(char *), cmp_str);
    for (i = 0; i < n; i++) {
        struct mxp_loaded_plugin lp;
        char err[512];
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue; /* an earlier folder wins, as in loading */
        if (mxp_plugin_load(dirs, names[i], &lp, err, sizeof(err)) == MXP_OK) {
            fn(names[i], lp.path, lp.desc, NULL, user);
            mxp_plugin_unload(&lp);
        } else {
            fn(names[i], NULL, NULL, err, user);
        }
    }
done:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

uint32_t mxp_plugin_flags(const struct mxp_plugin *d)
{
    if (d == NULL ||
        d->struct_size < offsetof(struct mxp_plugin, flags) + sizeof(d->flags))
        return 0;
    return d->flags;
}
