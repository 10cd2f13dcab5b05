# globalsync: PGXS build for PostgreSQL 15
#
#   make && make install          build and install into the server of pg_config
#   make installcheck             pg_regress against a running server
#   scripts/test.sh               everything: build with -Werror, regress, pgTAP, TAP
#
EXTENSION = globalsync
MODULE_big = globalsync

OBJS = \
	src/globalsync.o \
	src/capture/capture.o \
	src/capture/capture_shmem.o \
	src/progress/progress.o \
	src/targets/fhir.o \
	src/targets/file.o \
	src/targets/gsjson.o \
	src/targets/http.o \
	src/targets/httpcore.o \
	src/targets/s3.o \
	src/targets/snowflake.o \
	src/targets/targets.o \
	src/worker/launcher.o \
	src/worker/shmem.o \
	src/worker/worker.o \
	src/worker/worker_sql.o \
	src/tz/zone.o \
	src/tz/zone_sql.o \
	src/types/dtparse.o \
	src/types/ist_timestamp.o \
	src/types/zoned_timestamp.o

DATA = sql/globalsync--0.1.0.sql

REGRESS = ist_input ist_output ist_dst ist_ops zoned zones model capture sync fhir
REGRESS_OPTS = --inputdir=. --load-extension=globalsync

ISOLATION = capture_commit_order capture_long_txn capture_concurrent_consumers capture_tick_order capture_rotation
ISOLATION_OPTS = --load-extension=globalsync

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK = -lcurl -ljansson -lcrypto -lz
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
