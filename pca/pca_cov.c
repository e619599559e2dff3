/* pca_cov.c: the covariance of the streaming-PCA data: validation, the
 * symmetric eigendecomposition (cyclic Jacobi, accurate for the small d this
 * experiment uses), the square root that draws samples, and the error
 * measured against the top eigenspace.
 *
 * Not a general linear-algebra module: d is at most MT_PCA_MAX_DIM and the
 * decomposition is O(d^3) per sweep.
 */
#include "pca/pca.h"

#include "core/status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cov_alloc(mt_pca_cov *c, int d)
{
    memset(c, 0, sizeof *c);
    c->d = d;
    size_t dd = (size_t)d * d;
    c->sigma = calloc(dd, sizeof *c->sigma);
    c->root = calloc(dd, sizeof *c->root);
    c->eigvec = calloc(dd, sizeof *c->eigvec);
    c->eigval = calloc((size_t)d, sizeof *c->eigval);
    if (!c->sigma || !c->root || !c->eigvec || !c->eigval) {
        mt_pca_cov_free(c);
        return mt_error(MT_ERR_NOMEM, "covariance: out of memory for d = %d", d);
    }
    return MT_OK;
}

void mt_pca_cov_free(mt_pca_cov *c)
{
    free(c->sigma);
    free(c->root);
    free(c->eigvec);
    free(c->eigval);
    memset(c, 0, sizeof *c);
}

/* Multiplicity of the largest eigenvalue: the error measures distance to the
 * whole top eigenspace, which is what Oja's rule converges to. */
static int top_multiplicity(const double *eigval, int d)
{
    double tol = 1e-9 * fabs(eigval[0]);
    int m = 1;
    while (m < d && eigval[0] - eigval[m] <= tol)
        m++;
    return m;
}

int mt_pca_cov_diag(mt_pca_cov *c, const double *diag, int d)
{
    if (d < 1 || d > MT_PCA_MAX_DIM)
        return mt_error(MT_ERR_ARG, "covariance: dimension %d not in [1, %d]", d, MT_PCA_MAX_DIM);
    double largest = 0;
    for (int i = 0; i < d; i++) {
        if (!isfinite(diag[i]) || diag[i] < 0)
            return mt_error(MT_ERR_ARG, "covariance: diagonal entry %d is %g, expected a finite value >= 0",
                            i + 1, diag[i]);
        largest = fmax(largest, diag[i]);
    }
    if (largest <= 0)
        return mt_error(MT_ERR_ARG, "covariance: all diagonal entries are 0");
    int rc = cov_alloc(c, d);
    if (rc < 0)
        return rc;
    c->diagonal = 1;
    /* Eigenvalues sorted descending; a stable sort keeps the first of equal
     * entries first, so diag(4,3,2,1) has e1 as its top eigenvector. */
    int *order = malloc((size_t)d * sizeof *order);
    if (!order) {
        mt_pca_cov_free(c);
        return mt_error(MT_ERR_NOMEM, "covariance: out of memory");
    }
    for (int i = 0; i < d; i++)
        order[i] = i;
    for (int i = 1; i < d; i++) /* insertion sort: stable, d is small */
        for (int j = i; j > 0 && diag[order[j]] > diag[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < d; i++) {
        c->sigma[(size_t)i * d + i] = diag[i];
        c->root[(size_t)i * d + i] = sqrt(diag[i]);
        c->eigval[i] = diag[order[i]];
        c->eigvec[(size_t)order[i] * d + i] = 1.0;
    }
    free(order);
    c->top_mult = top_multiplicity(c->eigval, d);
    return MT_OK;
}

/* Cyclic Jacobi: a (d, d) symmetric is overwritten, on return its diagonal
 * holds the eigenvalues and v (d, d) the eigenvectors as columns. */
static void jacobi_eigen(double *a, double *v, int d)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            v[(size_t)i * d + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, total = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double x = a[(size_t)i * d + j] * a[(size_t)i * d + j];
                total += x;
                if (i != j)
                    off += x;
            }
        if (off <= 1e-30 * total)
            return;
        for (int p = 0; p < d - 1; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = a[(size_t)p * d + q];
                if (apq == 0)
                    continue;
                double app = a[(size_t)p * d + p], aqq = a[(size_t)q * d + q];
                double theta = (aqq - app) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double cs = 1 / sqrt(t * t + 1), sn = t * cs;
                for (int k = 0; k < d; k++) { /* A <- A J (columns p, q) */
                    double akp = a[(size_t)k * d + p], akq = a[(size_t)k * d + q];
                    a[(size_t)k * d + p] = cs * akp - sn * akq;
                    a[(size_t)k * d + q] = sn * akp + cs * akq;
                }
                for (int k = 0; k < d; k++) { /* A <- J^T A (rows p, q) */
                    double apk = a[(size_t)p * d + k], aqk = a[(size_t)q * d + k];
                    a[(size_t)p * d + k] = cs * apk - sn * aqk;
                    a[(size_t)q * d + k] = sn * apk + cs * aqk;
                }
                for (int k = 0; k < d; k++) {
                    double vkp = v[(size_t)k * d + p], vkq = v[(size_t)k * d + q];
                    v[(size_t)k * d + p] = cs * vkp - sn * vkq;
                    v[(size_t)k * d + q] = sn * vkp + cs * vkq;
                }
            }
    }
}

int mt_pca_cov_full(mt_pca_cov *c, const double *sigma, int d, const char *what)
{
    if (!what)
        what = "covariance";
    if (d < 1 || d > MT_PCA_MAX_DIM)
        return mt_error(MT_ERR_ARG, "%s: dimension %d not in [1, %d]", what, d, MT_PCA_MAX_DIM);
    double scale = 0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double x = sigma[(size_t)i * d + j];
            if (!isfinite(x))
                return mt_error(MT_ERR_FORMAT, "%s: row %d, column %d is not a finite number", what,
                                i + 1, j + 1);
            scale = fmax(scale, fabs(x));
        }
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) {
            double a = sigma[(size_t)i * d + j], b = sigma[(size_t)j * d + i];
            if (fabs(a - b) > 1e-9 * scale)
                return mt_error(MT_ERR_FORMAT,
                                "%s: not symmetric: row %d, column %d is %g but row %d, column %d is %g",
                                what, i + 1, j + 1, a, j + 1, i + 1, b);
        }
    if (scale == 0)
        return mt_error(MT_ERR_FORMAT, "%s: the matrix is zero", what);
    int rc = cov_alloc(c, d);
    if (rc < 0)
        return rc;
    size_t dd = (size_t)d * d;
    double *a = malloc(dd * sizeof *a);
    double *vec = malloc(dd * sizeof *vec);
    int *order = malloc((size_t)d * sizeof *order);
    if (!a || !vec || !order) {
        free(a), free(vec), free(order);
        mt_pca_cov_free(c);
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", what);
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) /* symmetrise the tolerated rounding */
            a[(size_t)i * d + j] = c->sigma[(size_t)i * d + j] =
                0.5 * (sigma[(size_t)i * d + j] + sigma[(size_t)j * d + i]);
    jacobi_eigen(a, vec, d);
    for (int i = 0; i < d; i++)
        order[i] = i;
    for (int i = 1; i < d; i++)
        for (int j = i; j > 0 && a[(size_t)order[j] * d + order[j]] > a[(size_t)order[j - 1] * d + order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    double lmax = a[(size_t)order[0] * d + order[0]];
    for (int k = 0; k < d; k++) {
        double l = a[(size_t)order[k] * d + order[k]];
        if (l < -1e-9 * lmax) {
            /* Name the row where the negative direction weighs most. */
            int row = 0;
            for (int i = 1; i < d; i++)
                if (fabs(vec[(size_t)i * d + order[k]]) > fabs(vec[(size_t)row * d + order[k]]))
                    row = i;
            free(a), free(vec), free(order);
            mt_pca_cov_free(c);
            return mt_error(MT_ERR_FORMAT,
                            "%s: not positive semidefinite: eigenvalue %g < 0 (its eigenvector is largest in row %d)",
                            what, l, row + 1);
        }
        c->eigval[k] = fmax(l, 0.0);
        for (int i = 0; i < d; i++)
            c->eigvec[(size_t)i * d + k] = vec[(size_t)i * d + order[k]];
    }
    /* root = Q diag(sqrt(lambda)) Q^T */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += c->eigvec[(size_t)i * d + k] * sqrt(c->eigval[k]) * c->eigvec[(size_t)j * d + k];
            c->root[(size_t)i * d + j] = s;
        }
    int diagonal = 1;
    for (int i = 0; i < d && diagonal; i++)
        for (int j = 0; j < d; j++)
            if (i != j && c->sigma[(size_t)i * d + j] != 0) {
                diagonal = 0;
                break;
            }
    if (diagonal) { /* exact square roots and unit eigenvectors for a diagonal file */
        double *diag = malloc((size_t)d * sizeof *diag);
        if (diag) {
            for (int i = 0; i < d; i++)
                diag[i] = c->sigma[(size_t)i * d + i];
            mt_pca_cov_free(c);
            rc = mt_pca_cov_diag(c, diag, d);
            free(diag);
            free(a), free(vec), free(order);
            return rc < 0 ? mt_error_context(rc, "%s", what) : MT_OK;
        }
    }
    c->top_mult = top_multiplicity(c->eigval, d);
    free(a), free(vec), free(order);
    return MT_OK;
}

/* Parses one line's numbers into row[0..cap); returns the count or -1 on a bad token. */
static int parse_row(char *line, double *row, int cap, const char **bad)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t,\r\n", &save); tok; tok = strtok_r(NULL, " \t,\r\n", &save)) {
        char *end;
        errno = 0;
        double x = strtod(tok, &end);
        if (errno || end == tok || *end != '\0' || !isfinite(x)) {
            *bad = tok;
            return -1;
        }
        if (n < cap)
            row[n] = x;
        n++;
    }
    return n;
}

int mt_pca_cov_read(mt_pca_cov *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    double *m = NULL;
    int d = 0, rows = 0, rc = MT_OK;
    char line[65536];
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = mt_error(MT_ERR_FORMAT, "%s: line %ld is longer than %zu characters", path, lineno,
                          sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        double first[MT_PCA_MAX_DIM];
        const char *bad = NULL;
        char copy[sizeof line];
        memcpy(copy, line, strlen(line) + 1);
        int n = parse_row(copy, first, MT_PCA_MAX_DIM, &bad);
        if (n < 0) {
            rc = mt_error(MT_ERR_FORMAT, "%s: row %d (line %ld): '%s' is not a finite number", path,
                          rows + 1, lineno, bad);
            break;
        }
        if (n == 0)
            continue;
        if (rows == 0) {
            if (n > MT_PCA_MAX_DIM) {
                rc = mt_error(MT_ERR_FORMAT, "%s: row 1 has %d numbers, at most %d are supported", path,
                              n, MT_PCA_MAX_DIM);
                break;
            }
            d = n;
            m = malloc((size_t)d * d * sizeof *m);
            if (!m) {
                rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
        } else if (n != d) {
            rc = mt_error(MT_ERR_FORMAT, "%s: row %d (line %ld) has %d numbers, row 1 has %d", path,
                          rows + 1, lineno, n, d);
            break;
        }
        if (rows == d) {
            rc = mt_error(MT_ERR_FORMAT, "%s: more than %d rows (line %ld): the matrix must be square",
                          path, d, lineno);
            break;
        }
        memcpy(m + (size_t)rows * d, first, (size_t)d * sizeof *m);
        rows++;
    }
    if (rc == MT_OK && ferror(f))
        rc = mt_error(MT_ERR_IO, "%s: read error", path);
    fclose(f);
    if (rc == MT_OK && rows == 0)
        rc = mt_error(MT_ERR_FORMAT, "%s: no matrix rows", path);
    if (rc == MT_OK && rows != d)
        rc = mt_error(MT_ERR_FORMAT, "%s: %d rows of %d numbers: the matrix must be square", path, rows,
                      d);
    if (rc == MT_OK)
        rc = mt_pca_cov_full(c, m, d, path);
    free(m);
    return rc;
}

double mt_pca_error(const mt_pca_cov *c, const double *v)
{
    int d = c->d;
    double nn = 0;
    for (int i = 0; i < d; i++)
        nn += v[i] * v[i];
    if (!(nn > 0) || !isfinite(nn))
        return 1.0;
    double proj = 0;
    for (int k = 0; k < c->top_mult; k++) {
        double dot = 0;
        for (int i = 0; i < d; i++)
            dot += c->eigvec[(size_t)i * d + k] * v[i];
        proj += dot * dot;
    }
    double e = 1.0 - proj / nn;
    return e < 0 ? 0 : e; /* rounding can make it -1e-17 */
}
