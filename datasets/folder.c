/* folder.c: image-folder datasets, ROOT/{train,test}/<class>/<image>.
 *
 * Classes are the sub-folders of ROOT/train in name order; images are taken
 * in name order so a folder always loads the same way. Two passes: the first
 * reads only headers (so a size mismatch or an undecodable file is reported
 * before megabytes are decoded) and settles grey vs colour, the second decodes.
 *
 * What counts as an image is decided by the name alone, as torchvision's
 * ImageFolder does: a stray README.txt or Thumbs.db is skipped (and counted,
 * so the tool can say so) rather than making the whole dataset unusable,
 * while a file that claims to be an image and does not decode stays an error.
 *
 * Not here: decoding itself (imageio.c).
 */
#include "datasets/formats.h"

#include "core/status.h"
#include "datasets/data_io.h"
#include "datasets/imageio.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libpng: png; libjpeg-turbo: JPEG (jpg, jpeg, jpe, jfif); stb_image: BMP, GIF, TGA, PSD,
 * Radiance HDR (hdr), Softimage PIC (pic), binary PNM (pnm, ppm, pgm). TIFF
 * and WebP, which torchvision reads through PIL, have no decoder here. */
const char *const mt_folder_image_exts[] = {"png", "jpg", "jpeg", "jpe", "jfif", "bmp",
                                            "gif", "tga", "psd", "hdr", "pic", "pnm",
                                            "ppm", "pgm", NULL};

int mt_folder_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (int i = 0; mt_folder_image_exts[i]; i++)
        if (strcasecmp(dot + 1, mt_folder_image_exts[i]) == 0)
            return 1;
    return 0;
}

/* ".png, .jpg, ... or .pgm" */
static void ext_list(char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; mt_folder_image_exts[i] && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s.%s", i == 0 ? ""
                                : mt_folder_image_exts[i + 1] ? ", " : " or ",
                                mt_folder_image_exts[i]);
}

int mt_dataset_skip_note(const mt_dataset *ds, int s, char *buf, size_t cap)
{
    if (s < 0 || s > 1 || ds->skipped[s].n == 0)
        return 0;
    const mt_skipped *k = &ds->skipped[s];
    if (k->n == 1)
        snprintf(buf, cap, "skipped 1 non-image file (%s)", k->example);
    else
        snprintf(buf, cap, "skipped %d non-image files (e.g. %s)", k->n, k->example);
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted list of the names in a directory that are folders (dirs = 1) or
 * of every entry (dirs = 0), skipping hidden ones. */
static int list_dir(const char *dir, int dirs, char ***names, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return mt_error(MT_ERR_IO, "%s: cannot read directory: %s", dir, strerror(errno));
    char **list = NULL;
    int n = 0, cap = 0, rc = MT_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[MT_PATH_CAP];
        if ((rc = mt_path_join(path, sizeof path, dir, e->d_name)))
            break;
        if (dirs && !mt_is_dir(path))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(list, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            list = grown;
        }
        if (!(list[n] = strdup(e->d_name))) {
            rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        mt_names_free(list, n);
        return rc;
    }
    if (n > 0)
        qsort(list, (size_t)n, sizeof *list, cmp_names);
    *names = list;
    *count = n;
    return MT_OK;
}

/* The image files of one split: full paths and labels. */
struct file_list {
    char **paths;
    int *labels;
    int n, cap;
};

static void files_free(struct file_list *fl)
{
    mt_names_free(fl->paths, fl->n);
    free(fl->labels);
    memset(fl, 0, sizeof *fl);
}

static int files_add(struct file_list *fl, const char *path, int label)
{
    if (fl->n == fl->cap) {
        int cap = fl->cap ? 2 * fl->cap : 256;
        char **p = realloc(fl->paths, (size_t)cap * sizeof *p);
        if (p)
            fl->paths = p;
        int *l = realloc(fl->labels, (size_t)cap * sizeof *l);
        if (l)
            fl->labels = l;
        if (!p || !l)
            return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
        fl->cap = cap;
    }
    if (!(fl->paths[fl->n] = strdup(path)))
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    fl->labels[fl->n++] = label;
    return MT_OK;
}

static int find_class(char **classes, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(classes[k], name) == 0)
            return k;
    return -1;
}

/* Counts an entry of a class folder that is not an image; the first one is
 * kept as the example, relative to the dataset folder. */
static void skip_note(mt_skipped *sk, const char *split, const char *cls, const char *name,
                      int is_dir)
{
    if (sk->n++ == 0)
        snprintf(sk->example, sizeof sk->example, "%s/%s/%s%s", split, cls, name,
                 is_dir ? "/" : "");
}

/* Collects the images ROOT/SPLIT/<class>/<file> of the given classes (each
 * sub-folder must be one of them) and counts what is not an image in sk. */
static int collect(const char *root, const char *split, char **classes, int num_classes,
                   struct file_list *fl, mt_skipped *sk)
{
    char dir[MT_PATH_CAP];
    int rc = mt_path_join(dir, sizeof dir, root, split);
    if (rc)
        return rc;
    char **subs;
    int n_subs;
    if ((rc = list_dir(dir, 1, &subs, &n_subs)))
        return rc;
    if (n_subs == 0)
        rc = mt_error(MT_ERR_FORMAT, "%s: no class folders", dir);
    for (int i = 0; i < n_subs && !rc; i++) {
        int label = find_class(classes, num_classes, subs[i]);
        char cdir[MT_PATH_CAP];
        if ((rc = mt_path_join(cdir, sizeof cdir, dir, subs[i])))
            break;
        if (label < 0) {
            rc = mt_error(MT_ERR_FORMAT, "%s: class '%s' does not exist in the training split",
                          cdir, subs[i]);
            break;
        }
        char **files;
        int n_files;
        if ((rc = list_dir(cdir, 0, &files, &n_files)))
            break;
        int images = 0;
        mt_skipped here = {0};
        for (int j = 0; j < n_files && !rc; j++) {
            char path[MT_PATH_CAP];
            if ((rc = mt_path_join(path, sizeof path, cdir, files[j])))
                break;
            if (mt_is_file(path) && mt_folder_is_image_name(files[j])) {
                rc = files_add(fl, path, label);
                images++;
            } else {
                int is_dir = mt_is_dir(path);
                skip_note(&here, split, subs[i], files[j], is_dir);
                skip_note(sk, split, subs[i], files[j], is_dir);
            }
        }
        mt_names_free(files, n_files);
        if (!rc && images == 0 && here.n == 0)
            rc = mt_error(MT_ERR_FORMAT, "%s: empty class folder", cdir);
        else if (!rc && images == 0) {
            char exts[160];
            ext_list(exts, sizeof exts);
            rc = mt_error(MT_ERR_FORMAT,
                          "%s: no images in the class folder, only %d other entr%s such as %s "
                          "(images end in %s)",
                          cdir, here.n, here.n == 1 ? "y" : "ies", here.example, exts);
        }
    }
    mt_names_free(subs, n_subs);
    return rc;
}

/* Pass 1 over both splits: one size, grey unless any image is colour. */
static int survey(struct file_list *lists[2], int *c, int *h, int *w)
{
    *c = 1;
    *h = *w = 0;
    const char *first = NULL;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < lists[s]->n; i++) {
            int iw, ih, ic;
            int rc = mt_image_info(lists[s]->paths[i], &iw, &ih, &ic);
            if (rc)
                return rc;
            if (!first) {
                first = lists[s]->paths[i];
                *w = iw;
                *h = ih;
            } else if (iw != *w || ih != *h) {
                return mt_error(MT_ERR_FORMAT, "%s: image is %dx%d, but %s is %dx%d",
                                lists[s]->paths[i], iw, ih, first, *w, *h);
            }
            if (ic == 3)
                *c = 3;
        }
    return MT_OK;
}

static int decode_all(const struct file_list *fl, int c, int h, int w, mt_split *s)
{
    int rc = mt_split_alloc(s, fl->n, c, h, w);
    for (int i = 0; i < fl->n && !rc; i++) {
        rc = mt_image_read(fl->paths[i], c, h, w, s->pixels + (size_t)i * mt_split_image_bytes(s));
        s->labels[i] = fl->labels[i];
    }
    if (rc)
        mt_split_free(s);
    return rc;
}

int mt_folder_load(mt_dataset *ds, const char *dir)
{
    ds->format = MT_FORMAT_FOLDER;
    char train_dir[MT_PATH_CAP];
    int rc = mt_path_join(train_dir, sizeof train_dir, dir, "train");
    if (rc || (rc = list_dir(train_dir, 1, &ds->class_names, &ds->num_classes)))
        return rc;
    if (ds->num_classes == 0)
        return mt_error(MT_ERR_FORMAT, "%s: no class folders", train_dir);
    struct file_list train = {0}, test = {0};
    struct file_list *lists[2] = {&train, &test};
    int c, h, w;
    if (!(rc = collect(dir, "train", ds->class_names, ds->num_classes, &train, &ds->skipped[0])) &&
        !(rc = collect(dir, "test", ds->class_names, ds->num_classes, &test, &ds->skipped[1])) &&
        !(rc = survey(lists, &c, &h, &w)) && !(rc = decode_all(&train, c, h, w, &ds->train)))
        rc = decode_all(&test, c, h, w, &ds->test);
    files_free(&train);
    files_free(&test);
    return rc;
}

int mt_folder_write(const mt_dataset *ds, const char *dir, const char *ext)
{
    int bmp = strcmp(ext, "bmp") == 0;
    if (!bmp && strcmp(ext, "png") != 0)
        return mt_error(MT_ERR_ARG, "folder writer: image type '%s' is not png or bmp", ext);
    const mt_split *splits[2] = {&ds->train, &ds->test};
    const char *names[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        char sdir[MT_PATH_CAP];
        const mt_split *sp = splits[s];
        int rc = mt_path_join(sdir, sizeof sdir, dir, names[s]);
        /* Only classes with images get a folder: an empty one is invalid. */
        int *counts = calloc((size_t)ds->num_classes, sizeof *counts);
        if (!counts)
            return mt_error(MT_ERR_NOMEM, "folder writer: out of memory");
        mt_split_class_counts(sp, ds->num_classes, counts);
        for (int k = 0; k < ds->num_classes && !rc; k++) {
            char cdir[MT_PATH_CAP];
            if (counts[k] > 0 && !(rc = mt_path_join(cdir, sizeof cdir, sdir, ds->class_names[k])))
                rc = mt_mkdirs(cdir);
        }
        free(counts);
        for (int i = 0; i < sp->n && !rc; i++) {
            char path[MT_PATH_CAP];
            int len = snprintf(path, sizeof path, "%s/%s/%06d.%s", sdir,
                               ds->class_names[sp->labels[i]], i, ext);
            if (len < 0 || (size_t)len >= sizeof path)
                return mt_error(MT_ERR_ARG, "%s: path too long", sdir);
            rc = bmp ? mt_bmp_write(path, mt_split_image(sp, i), sp->c, sp->h, sp->w)
                     : mt_png_write(path, mt_split_image(sp, i), sp->c, sp->h, sp->w);
        }
        if (rc)
            return rc;
    }
    return MT_OK;
}
