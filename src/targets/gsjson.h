/*-------------------------------------------------------------------------
 *
 * gsjson.h
 *	  jansson, for the drivers that use it (s3, snowflake, fhir), made to
 *	  live next to PostgreSQL's headers; and a scanner of JSON spans.
 *
 * Two names clash.  utils/fmgrprotos.h declares PostgreSQL's SQL functions
 * json_object() and json_typeof(); jansson declares a json_object() of its
 * own and defines json_typeof() as a macro, which would rewrite
 * PostgreSQL's declaration.  And at run time the postgres executable
 * exports its json_object(), to which the dynamic linker binds this
 * library's calls of jansson's json_object().
 *
 * So fmgrprotos.h is read first, jansson's json_object() is declared under
 * another name (a call of json_object() then does not compile instead of
 * calling the SQL function), and empty objects are made with GsJsonObject(),
 * that is json_pack("{}"), whose own call of json_object() stays inside
 * libjansson.  This header may come before or after PostgreSQL's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_GSJSON_H
#define GS_GSJSON_H

#include "utils/fmgrprotos.h"

#define json_object gs_jansson_json_object_do_not_call
#include <jansson.h>
#undef json_object

/*
 * Spans of JSON text jansson has accepted (gsjson.c).  GsJsonSkipValue
 * returns the end of the value starting at p, NULL if the text ends first.
 * GsJsonForEachMember calls fn for each member of the object starting at p
 * with the key's raw text (between its quotes, escapes not decoded) and the
 * value's span [v, vend), until fn returns false; it returns false if the
 * text is not an object.
 */
typedef bool (*GsJsonMemberFn) (const char *key, size_t keylen,
								const char *v, const char *vend, void *arg);

extern const char *GsJsonSkipWs(const char *p, const char *end);
extern const char *GsJsonSkipValue(const char *p, const char *end);
extern bool GsJsonForEachMember(const char *p, const char *end,
								GsJsonMemberFn fn, void *arg);

/* a new empty object, or NULL if out of memory */
static inline json_t *
GsJsonObject(void)
{
	return json_pack("{}");
}

#endif							/* GS_GSJSON_H */
