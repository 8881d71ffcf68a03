# omnichannel: PGXS build of one shared library and one versioned install script.
#
#   make                 build src/**.c into omnichannel.so and assemble the script
#   make install         install both into the PostgreSQL found by PG_CONFIG
#   make installcheck    pg_regress suites (sql/) and isolation specs (test/isolation)
#   make installcheck REGRESS= ISOLATION=   TAP tests only (test/t, as a non-root user)
#
# The full, self-installing test run is test/check.sh; the demo is test/demo.sh.

EXTENSION = omnichannel
EXTVERSION = 0.1.0

MODULE_big = omnichannel
SRCS = $(sort $(wildcard src/*.c src/*/*.c))
OBJS = $(SRCS:.c=.o)
OMNI_HEADERS = $(wildcard src/*.h src/*/*.h)

# The install script is assembled from one SQL source per capability, in
# dependency order: the core first, then identity (the tables everything else
# joins through), journeys, suppression, the timeline index, and last the
# roles, which grant privileges on all of them.
SQL_SOURCES = $(foreach f,src/omnichannel.sql src/identity/identity.sql \
	src/journey/journey.sql src/suppress/suppress.sql \
	src/timeline/timeline.sql src/roles.sql,$(wildcard $(f)))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql))

# pg_regress: every sql/<name>.sql except the built install scripts.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# Isolation specs: test/isolation/specs/<name>.spec, expected/<name>.out.
ISOLATION = $(sort $(patsubst test/isolation/specs/%.spec,%,$(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

# TAP tests: test/t/*.pl (PostgreSQL::Test::Cluster; they run initdb themselves).
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

ICU_CFLAGS := $(shell pkg-config --cflags icu-uc icu-i18n)
ICU_LIBS := $(shell pkg-config --libs icu-uc icu-i18n)
PG_CPPFLAGS = -I$(srcdir)/src $(ICU_CFLAGS)
SHLIB_LINK = $(ICU_LIBS)

EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

ifeq ($(ICU_LIBS),)
$(error ICU was not found by pkg-config: install libicu-dev (test/check.sh does))
endif

$(OBJS): $(OMNI_HEADERS)

$(DATA_built): $(SQL_SOURCES) Makefile
	@{ printf '%s\n' '/* omnichannel $(EXTVERSION), assembled from: $(strip $(SQL_SOURCES)) */'; \
	   printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	   for f in $(SQL_SOURCES); do printf '\n-- source: %s\n' "$$f"; sed '/^\\echo Use /d' $$f; done; \
	 } > $@

all: $(DATA_built)

.PHONY: print-%
print-%:
	@echo '$($*)'
