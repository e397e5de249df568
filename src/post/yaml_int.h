/* YAML helpers shared by frontmatter.c and site.c (post and site modules
 * both read untrusted YAML; one set of rules for both). */
#ifndef NOTIFY_YAML_INT_H
#define NOTIFY_YAML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* Deeper nesting is refused before loading: libyaml's time grows with the
 * square of the flow depth, and front matter is a flat mapping. */
#define NT_YAML_MAX_DEPTH 32

/* Loads buf[0..len) into *doc (delete with yaml_document_delete()).  On
 * failure returns false, *line is the 0-based line of the problem and
 * *problem a static description. */
bool nt_yaml_load(const char *buf, size_t len, yaml_document_t *doc, int *line,
		  const char **problem);

/* Scalar text of node 'id', or NULL when it is not a scalar, is YAML null
 * (~, null, empty plain) or holds a NUL byte (*has_nul set when given). */
const char *nt_yaml_scalar(yaml_document_t *doc, int id, bool *has_nul);

/* YAML 1.1 booleans as Jekyll reads them: true/yes/on, false/no/off. */
bool nt_yaml_is_true(const char *s);
bool nt_yaml_is_false(const char *s);

#endif
