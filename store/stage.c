// leadmailer_stage: an SQL function, written in C, that inserts a whole batch of import rows
// into the connection's staging table in one call. Binding the thirteen values of each row
// one by one through database/sql and the driver costs more than SQLite's work on the row
// (a cgo call, a conversion and a copy per value); here the batch crosses into C once, as one
// blob, and each value is bound in place.
//
// The blob is what appendStageRow in stage.go writes: rows one after another, each
//   row_no  int64, little-endian
//   outcome uint8 (the outcome codes of stage.go)
//   fields  int64, little-endian
//   ten texts (the nine lead fields in leadmailer.Field order, then received), each a uint32 little-endian length
//   followed by that many bytes of UTF-8.
//
// Only the few SQLite declarations this file needs are repeated here: the library is the one
// github.com/mattn/go-sqlite3 compiles into the program (or the system's, with its libsqlite3
// build tag), and its header is not on this package's include path.

#include <stdint.h>
#include <string.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;
typedef struct sqlite3_api_routines sqlite3_api_routines;

extern int sqlite3_auto_extension(void (*xEntryPoint)(void));
extern int sqlite3_create_function_v2(sqlite3 *, const char *, int, int, void *,
	void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *), void (*)(void *));
extern sqlite3 *sqlite3_context_db_handle(sqlite3_context *);
extern const void *sqlite3_value_blob(sqlite3_value *);
extern int sqlite3_value_bytes(sqlite3_value *);
extern int sqlite3_prepare_v2(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
extern int sqlite3_bind_int64(sqlite3_stmt *, int, int64_t);
extern int sqlite3_bind_text(sqlite3_stmt *, int, const char *, int, void (*)(void *));
extern int sqlite3_step(sqlite3_stmt *);
extern int sqlite3_reset(sqlite3_stmt *);
extern int sqlite3_finalize(sqlite3_stmt *);
extern const char *sqlite3_errmsg(sqlite3 *);
extern int sqlite3_extended_errcode(sqlite3 *);
extern void sqlite3_result_int64(sqlite3_context *, int64_t);
extern void sqlite3_result_error(sqlite3_context *, const char *, int);
extern void sqlite3_result_error_code(sqlite3_context *, int);

#define LM_SQLITE_OK 0
#define LM_SQLITE_ERROR 1
#define LM_SQLITE_DONE 101
#define LM_SQLITE_UTF8 1
#define LM_SQLITE_DIRECTONLY 0x000080000
#define LM_SQLITE_STATIC ((void (*)(void *))0)

#define LM_TEXTS 10

static const char stageSQL[] =
	"INSERT INTO temp.staging (row_no, outcome, email, name, company, country, business_id,"
	" job_title, website, phone, city, received, fields)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

static int64_t getInt64(const unsigned char *p) {
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return (int64_t)v;
}

static uint32_t getUint32(const unsigned char *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// stageFunc implements leadmailer_stage(blob): it inserts every row of blob into
// temp.staging and returns the number of rows inserted.
static void stageFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	(void)argc;
	sqlite3 *db = sqlite3_context_db_handle(ctx);
	const unsigned char *p = sqlite3_value_blob(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);
	const unsigned char *end = p + n;
	sqlite3_stmt *stmt = 0;
	if (sqlite3_prepare_v2(db, stageSQL, -1, &stmt, 0) != LM_SQLITE_OK) {
		sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
		sqlite3_result_error_code(ctx, sqlite3_extended_errcode(db));
		return;
	}
	int64_t rows = 0;
	while (p < end) {
		if (end - p < 17) {
			goto malformed;
		}
		int64_t rowNo = getInt64(p);
		unsigned outcome = p[8];
		int64_t fields = getInt64(p + 9);
		p += 17;
		sqlite3_bind_int64(stmt, 1, rowNo);
		sqlite3_bind_int64(stmt, 2, outcome);
		for (int i = 0; i < LM_TEXTS; i++) {
			if (end - p < 4) {
				goto malformed;
			}
			uint32_t len = getUint32(p);
			p += 4;
			if ((uint64_t)(end - p) < len) {
				goto malformed;
			}
			sqlite3_bind_text(stmt, 3 + i, (const char *)p, (int)len, LM_SQLITE_STATIC);
			p += len;
		}
		sqlite3_bind_int64(stmt, 3 + LM_TEXTS, fields);
		if (sqlite3_step(stmt) != LM_SQLITE_DONE) {
			sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
			sqlite3_result_error_code(ctx, sqlite3_extended_errcode(db));
			sqlite3_finalize(stmt);
			return;
		}
		sqlite3_reset(stmt);
		rows++;
	}
	sqlite3_finalize(stmt);
	sqlite3_result_int64(ctx, rows);
	return;
malformed:
	sqlite3_finalize(stmt);
	sqlite3_result_error(ctx, "leadmailer_stage: malformed batch", -1);
}

static int registerStage(sqlite3 *db, char **errMsg, const sqlite3_api_routines *api) {
	(void)errMsg;
	(void)api;
	return sqlite3_create_function_v2(db, "leadmailer_stage", 1, LM_SQLITE_UTF8 | LM_SQLITE_DIRECTONLY,
		0, stageFunc, 0, 0, 0);
}

// lmRegisterStage makes every database connection opened from now on know leadmailer_stage.
int lmRegisterStage(void) {
	return sqlite3_auto_extension((void (*)(void))registerStage);
}
