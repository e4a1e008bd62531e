/* persist.c: models to files and back.
 *
 * The file (docs/models.md, "File format"), every integer and double little-endian
 * whatever the host:
 *
 *   "NDPARMDL"  8 bytes, the magic
 *   u32         the format version (MODEL_FILE_VERSION)
 *   u32         0 (reserved)
 *   u64         the file's length in bytes, this header and the checksum included
 *   node        the model
 *   u32         CRC-32 (IEEE 802.3, zlib's crc32) of every byte before it
 *
 *   node:  str type name; u32 fitted; u64 inputs; u64 outputs;
 *          u32 parameter count, then per parameter: str name, f64 value;
 *          u32 array count, then per array: str name, u64 rows, u64 cols, rows x cols f64
 *          (row-major);
 *          u32 child count, then the children's nodes (a chain's steps, in order)
 *   str:   u32 length (1 .. 255), then that many bytes (no terminating zero)
 *
 * Loading checks the magic, version, length and checksum, then parses the whole node tree
 * with every count bounded by the bytes that remain, and only then builds the model. */
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODEL_FILE_MAGIC "NDPARMDL"
#define MODEL_FILE_VERSION 1u
#define HEADER_BYTES 24
#define CHECKSUM_BYTES 4
#define MAX_NAME 255
#define MAX_DEPTH 16

/* ---- bytes: a growing buffer and a bounded reader -------------------------------------- */

typedef struct {
  unsigned char *data;
  size_t len, cap;
  int failed; /* out of memory or size overflow */
} out_buf;

static void put_bytes(out_buf *b, const void *p, size_t n) {
  if (b->failed) return;
  size_t need = 0;
  if (!ndpar_size_add(b->len, n, &need)) {
    b->failed = 1;
    return;
  }
  if (need > b->cap) {
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap < need) {
      if (!ndpar_size_mul(cap, 2, &cap)) {
        b->failed = 1;
        return;
      }
    }
    unsigned char *grown = realloc(b->data, cap);
    if (grown == NULL) {
      b->failed = 1;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len = need;
}

static void put_u64(out_buf *b, uint64_t v) {
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = (unsigned char)(v >> (8 * i));
  put_bytes(b, le, 8);
}

static void put_u32(out_buf *b, uint32_t v) {
  unsigned char le[4];
  for (int i = 0; i < 4; i++) le[i] = (unsigned char)(v >> (8 * i));
  put_bytes(b, le, 4);
}

static void put_f64(out_buf *b, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  put_u64(b, bits);
}

static void put_str(out_buf *b, const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_NAME) {
    b->failed = 1;
    return;
  }
  put_u32(b, (uint32_t)n);
  put_bytes(b, s, n);
}

typedef struct {
  const unsigned char *p;
  size_t left;
} in_buf;

static int get_u64(in_buf *r, uint64_t *v) {
  if (r->left < 8) return 0;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x |= (uint64_t)r->p[i] << (8 * i);
  r->p += 8;
  r->left -= 8;
  *v = x;
  return 1;
}

static int get_u32(in_buf *r, uint32_t *v) {
  if (r->left < 4) return 0;
  uint32_t x = 0;
  for (int i = 0; i < 4; i++) x |= (uint32_t)r->p[i] << (8 * i);
  r->p += 4;
  r->left -= 4;
  *v = x;
  return 1;
}

static int get_f64(in_buf *r, double *v) {
  uint64_t bits;
  if (!get_u64(r, &bits)) return 0;
  memcpy(v, &bits, sizeof *v);
  return 1;
}

/* A name into out (MAX_NAME + 1 bytes): 1 .. MAX_NAME printable bytes. */
static int get_str(in_buf *r, char *out) {
  uint32_t n;
  if (!get_u32(r, &n) || n == 0 || n > MAX_NAME || r->left < n) return 0;
  for (uint32_t i = 0; i < n; i++)
    if (r->p[i] < 0x20 || r->p[i] > 0x7e) return 0;
  memcpy(out, r->p, n);
  out[n] = '\0';
  r->p += n;
  r->left -= n;
  return 1;
}

/* CRC-32 of IEEE 802.3 (reflected polynomial 0xEDB88320), as zlib's crc32. */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

/* ---- the archive: a node's named arrays ----------------------------------------------- */

typedef struct {
  char name[MAX_NAME + 1];
  gsl_matrix *x; /* saving: a copy; loading: parsed (NULL for a 0-element array) */
  size_t rows, cols;
} archive_entry;

struct ndpar_model_archive {
  size_t n, cap;
  archive_entry *entries;
  int failed;
};

static void archive_clear(ndpar_model_archive *a) {
  for (size_t i = 0; i < a->n; i++) gsl_matrix_free(a->entries[i].x);
  free(a->entries);
  memset(a, 0, sizeof *a);
}

static archive_entry *archive_add(ndpar_model_archive *a) {
  if (a->n == a->cap) {
    size_t cap = a->cap == 0 ? 4 : 2 * a->cap;
    archive_entry *grown = realloc(a->entries, cap * sizeof *grown);
    if (grown == NULL) return NULL;
    a->entries = grown;
    a->cap = cap;
  }
  archive_entry *e = &a->entries[a->n++];
  memset(e, 0, sizeof *e);
  return e;
}

static const archive_entry *archive_find(const ndpar_model_archive *a, const char *name) {
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->entries[i].name, name) == 0) return &a->entries[i];
  return NULL;
}

/* Worker-safe (types call it from save and load): codes, no GSL_ERROR. */
int ndpar_model_archive_put(ndpar_model_archive *a, const char *name, const gsl_matrix *x) {
  if (a == NULL || name == NULL || x == NULL) return GSL_EFAULT;
  size_t len = strlen(name);
  if (len == 0 || len > MAX_NAME || archive_find(a, name) != NULL) return GSL_EINVAL;
  gsl_matrix *copy = gsl_matrix_alloc(x->size1, x->size2);
  if (copy == NULL) return GSL_ENOMEM;
  gsl_matrix_memcpy(copy, x);
  archive_entry *e = archive_add(a);
  if (e == NULL) {
    gsl_matrix_free(copy);
    return GSL_ENOMEM;
  }
  memcpy(e->name, name, len + 1);
  e->x = copy;
  e->rows = x->size1;
  e->cols = x->size2;
  return GSL_SUCCESS;
}

int ndpar_model_archive_get(const ndpar_model_archive *a, const char *name, gsl_matrix **x) {
  if (a == NULL || name == NULL || x == NULL) return GSL_EFAULT;
  const archive_entry *e = archive_find(a, name);
  if (e == NULL || e->x == NULL) return GSL_EINVAL;
  gsl_matrix *copy = gsl_matrix_alloc(e->rows, e->cols);
  if (copy == NULL) return GSL_ENOMEM;
  gsl_matrix_memcpy(copy, e->x);
  *x = copy;
  return GSL_SUCCESS;
}

/* ---- saving --------------------------------------------------------------------------- */

static int put_node(out_buf *b, const ndpar_model *m) {
  put_str(b, m->type->name);
  put_u32(b, (uint32_t)(m->fitted != 0));
  put_u64(b, m->inputs);
  put_u64(b, m->outputs);
  uint32_t nparams = 0;
  for (const char *const *p = m->type->params; p != NULL && *p != NULL; p++) nparams++;
  put_u32(b, nparams);
  for (uint32_t i = 0; i < nparams; i++) {
    double v = 0;
    if (m->type->get(m->state, m->type->params[i], &v) != GSL_SUCCESS) return GSL_EINVAL;
    put_str(b, m->type->params[i]);
    put_f64(b, v);
  }
  ndpar_model_archive a = {0};
  int status = GSL_SUCCESS;
  if (m->fitted && !models_is_chain(m)) status = m->type->save(m->state, &a);
  put_u32(b, (uint32_t)a.n);
  for (size_t i = 0; i < a.n && status == GSL_SUCCESS; i++) {
    const gsl_matrix *x = a.entries[i].x;
    put_str(b, a.entries[i].name);
    put_u64(b, x->size1);
    put_u64(b, x->size2);
    for (size_t r = 0; r < x->size1; r++)
      for (size_t c = 0; c < x->size2; c++) put_f64(b, gsl_matrix_get(x, r, c));
  }
  archive_clear(&a);
  size_t children = models_is_chain(m) ? models_chain_size(m) : 0;
  put_u32(b, (uint32_t)children);
  for (size_t i = 0; i < children && status == GSL_SUCCESS; i++)
    status = put_node(b, ndpar_chain_step(m, i));
  return status;
}

/* Whether m and every step of it can be saved (a type with save, or a chain). */
static const ndpar_model *unsaveable(const ndpar_model *m) {
  if (models_is_chain(m)) {
    for (size_t i = 0; i < models_chain_size(m); i++) {
      const ndpar_model *bad = unsaveable(ndpar_chain_step(m, i));
      if (bad != NULL) return bad;
    }
    return NULL;
  }
  return m->type->save == NULL ? m : NULL;
}

/* Writes all of b to path through a temporary file beside it, renamed over path. */
static int write_replace(const char *path, const out_buf *b) {
  size_t len = strlen(path);
  char *tmp = malloc(len + 16);
  NDPAR_REQUIRE(tmp != NULL, "model_save: out of memory", GSL_ENOMEM);
  snprintf(tmp, len + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int err = errno;
    free(tmp);
    NDPAR_ERROR_FMT(GSL_EFAILED, "model_save: cannot create a file beside %s: %s", path,
                    strerror(err));
  }
  FILE *f = fdopen(fd, "wb");
  int ok = f != NULL && fwrite(b->data, 1, b->len, f) == b->len;
  ok = ok && fflush(f) == 0 && fsync(fd) == 0;
  int err = errno;
  if (f != NULL) {
    if (fclose(f) != 0) ok = 0;
  } else {
    close(fd);
  }
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
    err = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    NDPAR_ERROR_FMT(GSL_EFAILED, "model_save: writing %s failed: %s", path, strerror(err));
  }
  free(tmp);
  return GSL_SUCCESS;
}

int ndpar_model_save(const ndpar_model *m, const char *path) {
  NDPAR_REQUIRE(m != NULL, "model_save: m is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(path != NULL, "model_save: path is NULL", GSL_EFAULT);
  const ndpar_model *bad = unsaveable(m);
  if (bad != NULL)
    NDPAR_ERROR_FMT(GSL_EINVAL, "model_save: m holds a %s model, which cannot be saved (its type has no save)",
                    bad->type->name);
  out_buf b = {0};
  put_bytes(&b, MODEL_FILE_MAGIC, 8);
  put_u32(&b, MODEL_FILE_VERSION);
  put_u32(&b, 0);
  put_u64(&b, 0); /* the length, filled in below */
  int status = put_node(&b, m);
  if (status == GSL_SUCCESS && !b.failed) {
    uint64_t total = (uint64_t)b.len + CHECKSUM_BYTES;
    for (int i = 0; i < 8; i++) b.data[16 + i] = (unsigned char)(total >> (8 * i));
    put_u32(&b, crc32_of(b.data, b.len));
  }
  if (status == GSL_SUCCESS && b.failed) status = GSL_ENOMEM;
  if (status != GSL_SUCCESS) {
    free(b.data);
    NDPAR_ERROR_FMT(status, "model_save: %s's state could not be written: %s", m->type->name,
                    gsl_strerror(status));
  }
  status = write_replace(path, &b);
  free(b.data);
  return status;
}

/* ---- loading: parse every node, then build ------------------------------------------ */

typedef struct node {
  char type[MAX_NAME + 1];
  int fitted;
  size_t inputs, outputs;
  size_t nparams;
  char (*param_names)[MAX_NAME + 1];
  double *param_values;
  ndpar_model_archive arrays;
  size_t nchildren;
  struct node *children;
} node;

static void node_clear(node *n) {
  free(n->param_names);
  free(n->param_values);
  archive_clear(&n->arrays);
  for (size_t i = 0; i < n->nchildren; i++) node_clear(&n->children[i]);
  free(n->children);
  memset(n, 0, sizeof *n);
}

/* Parsing errors: a message in err naming what was wrong. */
typedef struct {
  char msg[640];
} parse_error;

#define PARSE_FAIL(e, ...)                               \
  do {                                                   \
    snprintf((e)->msg, sizeof (e)->msg, __VA_ARGS__);    \
    return GSL_EINVAL;                                   \
  } while (0)

static int parse_arrays(in_buf *r, node *n, parse_error *e) {
  uint32_t count;
  if (!get_u32(r, &count)) PARSE_FAIL(e, "the file ends inside %s's arrays", n->type);
  for (uint32_t i = 0; i < count; i++) {
    archive_entry *a = archive_add(&n->arrays);
    if (a == NULL) return GSL_ENOMEM;
    uint64_t rows;
    uint64_t cols;
    if (!get_str(r, a->name) || !get_u64(r, &rows) || !get_u64(r, &cols))
      PARSE_FAIL(e, "%s's array %u is cut short or badly named", n->type, i);
    size_t elems = 0;
    size_t bytes = 0;
    if (rows > SIZE_MAX || cols > SIZE_MAX || !ndpar_size_mul((size_t)rows, (size_t)cols, &elems) ||
        !ndpar_size_mul(elems, 8, &bytes) || bytes > r->left)
      PARSE_FAIL(e, "%s's array \"%s\" claims %llu x %llu values, more than the file holds",
                 n->type, a->name, (unsigned long long)rows, (unsigned long long)cols);
    for (size_t j = 0; j + 1 < n->arrays.n; j++)
      if (strcmp(n->arrays.entries[j].name, a->name) == 0)
        PARSE_FAIL(e, "%s's array \"%s\" appears twice", n->type, a->name);
    a->rows = (size_t)rows;
    a->cols = (size_t)cols;
    if (elems > 0) {
      a->x = gsl_matrix_alloc(a->rows, a->cols);
      if (a->x == NULL) return GSL_ENOMEM;
      for (size_t k = 0; k < elems; k++) get_f64(r, &a->x->data[(k / a->cols) * a->x->tda + k % a->cols]);
    }
  }
  return GSL_SUCCESS;
}

static int parse_node(in_buf *r, node *n, int depth, parse_error *e) {
  if (depth > MAX_DEPTH) PARSE_FAIL(e, "models nest deeper than %d", MAX_DEPTH);
  uint32_t fitted;
  uint64_t inputs;
  uint64_t outputs;
  uint32_t nparams;
  if (!get_str(r, n->type)) PARSE_FAIL(e, "a model's type name is cut short or not printable");
  if (!get_u32(r, &fitted) || fitted > 1 || !get_u64(r, &inputs) || !get_u64(r, &outputs) ||
      inputs > SIZE_MAX || outputs > SIZE_MAX)
    PARSE_FAIL(e, "%s's fitted flag or sizes are cut short or out of range", n->type);
  n->fitted = (int)fitted;
  n->inputs = (size_t)inputs;
  n->outputs = (size_t)outputs;
  /* every parameter takes at least 13 bytes: a bound on the count before allocating */
  if (!get_u32(r, &nparams) || nparams > r->left / 13)
    PARSE_FAIL(e, "%s's parameter count is cut short or too large", n->type);
  n->nparams = nparams;
  n->param_names = calloc(nparams + 1, sizeof *n->param_names);
  n->param_values = calloc(nparams + 1, sizeof *n->param_values);
  if (n->param_names == NULL || n->param_values == NULL) return GSL_ENOMEM;
  for (uint32_t i = 0; i < nparams; i++)
    if (!get_str(r, n->param_names[i]) || !get_f64(r, &n->param_values[i]))
      PARSE_FAIL(e, "%s's parameter %u is cut short or badly named", n->type, i);
  int status = parse_arrays(r, n, e);
  if (status) return status;
  uint32_t children;
  /* a child takes at least 33 bytes */
  if (!get_u32(r, &children) || children > r->left / 33)
    PARSE_FAIL(e, "%s's step count is cut short or too large", n->type);
  n->children = calloc(children + 1, sizeof *n->children);
  if (n->children == NULL) return GSL_ENOMEM;
  n->nchildren = children;
  for (uint32_t i = 0; i < children; i++) {
    status = parse_node(r, &n->children[i], depth + 1, e);
    if (status) return status;
  }
  return GSL_SUCCESS;
}

/* The built-in types a file may name, and the caller's prototypes' types. */
typedef struct {
  const ndpar_model_type *type;
  ndpar_model *(*fresh)(void);
  /* the fitted state's input and output counts, to check them against the node's */
  void (*shape)(const void *state, size_t *inputs, size_t *outputs);
} builtin;

static ndpar_model *fresh_ridge(void) { return ndpar_ridge_alloc(1.0); }
static ndpar_model *fresh_scaler(void) { return ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD); }
static ndpar_model *fresh_mlp(void) { return ndpar_mlp_alloc(NULL); }

static const builtin builtins[] = {
    {&models_ridge_type, fresh_ridge, models_linear_shape},
    {&models_linear_type, ndpar_linear_alloc, models_linear_shape},
    {&models_scaler_type, fresh_scaler, models_scaler_shape},
    {&models_mlp_type, fresh_mlp, models_mlp_shape},
};

static const builtin *builtin_of(const ndpar_model_type *type, const char *name) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (builtins[i].type == type || (name != NULL && strcmp(builtins[i].type->name, name) == 0))
      return &builtins[i];
  return NULL;
}

static ndpar_model *fresh_builtin(const char *type) {
  const builtin *b = builtin_of(NULL, type);
  return b != NULL ? b->fresh() : NULL;
}

/* Whether a built-in leaf's loaded state has the node's input and output counts (a user
 * type's load checks its own arrays). */
static int models_state_sizes_ok(const ndpar_model *m) {
  const builtin *b = builtin_of(m->type, NULL);
  if (b == NULL || m->user) return 1;
  size_t inputs = 0;
  size_t outputs = 0;
  b->shape(m->state, &inputs, &outputs);
  return inputs == m->inputs && outputs == m->outputs;
}

typedef struct {
  const ndpar_model *const *protos;
  size_t n;
} proto_set;

static int build(const node *n, const proto_set *ps, ndpar_model **out, parse_error *e);

static int build_chain(const node *n, const proto_set *ps, ndpar_model **out, parse_error *e) {
  if (n->nchildren == 0 || n->nparams != 0 || n->arrays.n != 0)
    PARSE_FAIL(e, "a chain with %zu steps, %zu parameters and %zu arrays", n->nchildren,
               n->nparams, n->arrays.n);
  ndpar_model **steps = calloc(n->nchildren, sizeof *steps);
  if (steps == NULL) return GSL_ENOMEM;
  int status = GSL_SUCCESS;
  for (size_t i = 0; i < n->nchildren && status == GSL_SUCCESS; i++) {
    status = build(&n->children[i], ps, &steps[i], e);
    if (status == GSL_SUCCESS && i + 1 < n->nchildren &&
        steps[i]->type->kind == NDPAR_MODEL_REGRESSOR) {
      snprintf(e->msg, sizeof e->msg, "the chain's step %zu (%s) is a model before the last", i,
               steps[i]->type->name);
      status = GSL_EINVAL;
    }
  }
  ndpar_model *chain = status == GSL_SUCCESS ? models_chain_of(steps, n->nchildren) : NULL;
  if (status == GSL_SUCCESS && chain == NULL) status = GSL_ENOMEM;
  if (status != GSL_SUCCESS) {
    for (size_t i = 0; i < n->nchildren; i++) ndpar_model_free(steps[i]);
    free(steps);
    return status;
  }
  free(steps);
  *out = chain;
  return GSL_SUCCESS;
}

/* A fresh unfitted model of the node's type: a built-in one, or a clone of a prototype. */
static ndpar_model *fresh_model(const node *n, const proto_set *ps) {
  for (size_t i = 0; i < ps->n; i++)
    if (ps->protos[i] != NULL && strcmp(ps->protos[i]->type->name, n->type) == 0)
      return models_clone(ps->protos[i]);
  return fresh_builtin(n->type);
}

/* Whether a fitted node's state agrees with its sizes: a fitted leaf must load arrays, a
 * fitted chain's steps must be fitted and pass sizes on. */
static int fitted_sizes_ok(const ndpar_model *m) {
  if (!models_is_chain(m)) return 1;
  size_t cols = m->inputs;
  for (size_t i = 0; i < models_chain_size(m); i++) {
    const ndpar_model *step = ndpar_chain_step(m, i);
    if (!step->fitted || step->inputs != cols) return 0;
    cols = step->outputs;
  }
  return cols == m->outputs;
}

static int build(const node *n, const proto_set *ps, ndpar_model **out, parse_error *e) {
  if (strcmp(n->type, "chain") == 0) {
    int status = build_chain(n, ps, out, e);
    if (status) return status;
  } else {
    if (n->nchildren != 0) PARSE_FAIL(e, "a %s model with steps", n->type);
    ndpar_model *m = fresh_model(n, ps);
    if (m == NULL) PARSE_FAIL(e, "unknown model type \"%s\"", n->type);
    for (size_t i = 0; i < n->nparams; i++) {
      if (models_set(m, n->param_names[i], n->param_values[i]) != GSL_SUCCESS) {
        ndpar_model_free(m);
        PARSE_FAIL(e, "%s's parameter \"%s\" = %.17g is not valid", n->type, n->param_names[i],
                   n->param_values[i]);
      }
    }
    if (n->fitted) {
      /* quiet: what a type's load calls reports through our message, not the handler */
      int before = ndpar_tls_quiet;
      ndpar_tls_quiet = 1;
      int status = m->type->load != NULL ? m->type->load(m->state, &n->arrays) : GSL_EINVAL;
      ndpar_tls_quiet = before;
      if (status != GSL_SUCCESS) {
        ndpar_model_free(m);
        if (status == GSL_ENOMEM) return status;
        PARSE_FAIL(e, "%s's fitted state is missing or malformed", n->type);
      }
    }
    *out = m;
  }
  ndpar_model *m = *out;
  m->fitted = n->fitted;
  m->inputs = n->fitted ? n->inputs : 0;
  m->outputs = n->fitted ? n->outputs : 0;
  if (n->fitted && (n->inputs == 0 || n->outputs == 0 || !fitted_sizes_ok(m) ||
                    !models_state_sizes_ok(m))) {
    ndpar_model_free(m);
    *out = NULL;
    PARSE_FAIL(e, "%s's fitted sizes (%zu inputs, %zu outputs) do not match its state", n->type,
               n->inputs, n->outputs);
  }
  return GSL_SUCCESS;
}

/* Checks the header and checksum of bytes; the body's reader in *body. */
static int check_file(const unsigned char *bytes, size_t n, in_buf *body, parse_error *e) {
  if (n < HEADER_BYTES + CHECKSUM_BYTES) PARSE_FAIL(e, "%zu bytes: too short for a model file", n);
  if (memcmp(bytes, MODEL_FILE_MAGIC, 8) != 0) PARSE_FAIL(e, "not an ndpar model file (no magic)");
  in_buf r = {bytes + 8, n - 8};
  uint32_t version;
  uint32_t reserved;
  uint64_t length;
  get_u32(&r, &version);
  get_u32(&r, &reserved);
  get_u64(&r, &length);
  if (version != MODEL_FILE_VERSION)
    PARSE_FAIL(e, "format version %u; this library reads version %u", version, MODEL_FILE_VERSION);
  if (length != n) PARSE_FAIL(e, "the file says %llu bytes and has %zu (cut short or extended)",
                              (unsigned long long)length, n);
  in_buf tail = {bytes + n - CHECKSUM_BYTES, CHECKSUM_BYTES};
  uint32_t crc;
  get_u32(&tail, &crc);
  if (crc != crc32_of(bytes, n - CHECKSUM_BYTES)) PARSE_FAIL(e, "checksum mismatch: the file is corrupt");
  if (reserved != 0) PARSE_FAIL(e, "reserved header field is %u, not 0", reserved);
  body->p = bytes + HEADER_BYTES;
  body->left = n - HEADER_BYTES - CHECKSUM_BYTES;
  return GSL_SUCCESS;
}

static int load_bytes(const char *who, const void *bytes, size_t n, const proto_set *ps,
                      ndpar_model **m) {
  parse_error e = {{0}};
  in_buf body;
  int status = check_file(bytes, n, &body, &e);
  node root = {0};
  if (status == GSL_SUCCESS) status = parse_node(&body, &root, 0, &e);
  if (status == GSL_SUCCESS && body.left != 0) {
    snprintf(e.msg, sizeof e.msg, "%zu bytes after the model", body.left);
    status = GSL_EINVAL;
  }
  ndpar_model *built = NULL;
  if (status == GSL_SUCCESS) status = build(&root, ps, &built, &e);
  node_clear(&root);
  if (status == GSL_ENOMEM) NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  if (status != GSL_SUCCESS) NDPAR_ERROR_FMT(status, "%s: %s", who, e.msg);
  *m = built;
  return GSL_SUCCESS;
}

int ndpar_model_load_bytes(const void *bytes, size_t n, ndpar_model **m) {
  NDPAR_REQUIRE(bytes != NULL || n == 0, "model_load_bytes: bytes is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(m != NULL, "model_load_bytes: m is NULL", GSL_EFAULT);
  proto_set none = {NULL, 0};
  return load_bytes("model_load_bytes", bytes != NULL ? bytes : "", n, &none, m);
}

/* The whole file into a new buffer. */
static int read_file(const char *who, const char *path, unsigned char **out, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) NDPAR_ERROR_FMT(GSL_EFAILED, "%s: cannot open %s: %s", who, path, strerror(errno));
  out_buf b = {0};
  unsigned char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) put_bytes(&b, chunk, got);
  int bad_read = ferror(f);
  fclose(f);
  if (b.failed) {
    free(b.data);
    NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory reading %s", who, path);
  }
  if (bad_read) {
    free(b.data);
    NDPAR_ERROR_FMT(GSL_EFAILED, "%s: reading %s failed", who, path);
  }
  *out = b.data;
  *n = b.len;
  return GSL_SUCCESS;
}

static int load_file(const char *who, const char *path, const proto_set *ps, ndpar_model **m) {
  unsigned char *bytes = NULL;
  size_t n = 0;
  int status = read_file(who, path, &bytes, &n);
  if (status) return status;
  status = load_bytes(who, bytes != NULL ? bytes : (const unsigned char *)"", n, ps, m);
  free(bytes);
  return status;
}

int ndpar_model_load(const char *path, ndpar_model **m) {
  NDPAR_REQUIRE(path != NULL, "model_load: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(m != NULL, "model_load: m is NULL", GSL_EFAULT);
  proto_set none = {NULL, 0};
  return load_file("model_load", path, &none, m);
}

int ndpar_model_load_with(const char *path, const ndpar_model *const *prototypes, size_t n,
                          ndpar_model **m) {
  NDPAR_REQUIRE(path != NULL, "model_load_with: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(m != NULL, "model_load_with: m is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(prototypes != NULL || n == 0, "model_load_with: prototypes is NULL", GSL_EFAULT);
  for (size_t i = 0; i < n; i++)
    if (prototypes[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "model_load_with: prototypes[%zu] is NULL", i);
  proto_set ps = {prototypes, n};
  return load_file("model_load_with", path, &ps, m);
}
