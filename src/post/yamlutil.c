#include <string.h>
#include <strings.h>

#include "yaml_int.h"

/* Scans the events up to the first nesting deeper than the cap. */
static bool S_depth_ok(const char *buf, size_t len, int *line,
		       const char **problem)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0;
	bool ok = true, done = false;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && ok) {
		if (!yaml_parser_parse(&parser, &ev))
			break; /* the loader reports syntax errors */
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			 ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		done = ev.type == YAML_STREAM_END_EVENT;
		if (depth > NT_YAML_MAX_DEPTH) {
			*line = (int)ev.start_mark.line;
			*problem = "nested too deeply";
			ok = false;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ok;
}

bool nt_yaml_load(const char *buf, size_t len, yaml_document_t *doc, int *line,
		  const char **problem)
{
	yaml_parser_t parser;
	bool ok;

	if (!S_depth_ok(buf, len, line, problem))
		return false;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	ok = yaml_parser_load(&parser, doc);
	if (!ok) {
		*line = (int)parser.problem_mark.line;
		*problem = parser.problem ? parser.problem : "error";
	}
	yaml_parser_delete(&parser);
	return ok;
}

const char *nt_yaml_scalar(yaml_document_t *doc, int id, bool *has_nul)
{
	yaml_node_t *n = yaml_document_get_node(doc, id);
	const char *v;

	if (has_nul)
		*has_nul = false;
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) { /* "a\0b" */
		if (has_nul)
			*has_nul = true;
		return NULL;
	}
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0))
		return NULL;
	return v;
}

bool nt_yaml_is_true(const char *s)
{
	return s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
		     strcasecmp(s, "on") == 0);
}

bool nt_yaml_is_false(const char *s)
{
	return s && (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
		     strcasecmp(s, "off") == 0);
}
