# mxprobe - build, test and install.
#
#   make deps      install every Debian package the build, tests and
#                  benchmarks need (idempotent, non-interactive)
#   make           build/mxprobe and build/plugins/*.so
#   make check     unit and integration tests, normal and ASan+UBSan builds
#   make asan      the sanitizer build only, into build/asan/
#   make bench     the benchmarks (bench/README.md)
#   make fuzz      run the libFuzzer targets for a bounded time
#   make demo      builds, starts test servers on loopback (127.0.3.x: DNS,
#                  Postfix closed, lax and open, hostile fakes; as root)
#                  and shows mxprobe's report on them; they stay up
#   make demo-stop stops exactly what make demo started
#   make install   PREFIX (/usr/local), PLUGINDIR (the Monitoring Plugins
#                  folder, $(PREFIX)/lib/nagios/plugins) and DESTDIR
#   make deb       the Debian package (debian/), built by dpkg-buildpackage
#                  from a copy of the tree into build/deb/, then lintian
#   make check-package  make deb, lintian without errors or warnings, and
#                  (as root) apt-get install, run, purge of the .deb
#
# O= chooses the output folder and SAN=1 adds ASan+UBSan; the asan and
# check targets use both through a recursive make.

O ?= build
SAN ?= 0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
# The checks (plugins/*.so) and the Monitoring Plugins folder, where
# check_mxprobe goes so that Nagios' $USER1$ and Icinga's PluginDir find
# it (not under LIBDIR: Debian keeps it in /usr/lib/nagios/plugins).
MXP_PLUGINDIR ?= $(LIBDIR)/mxprobe/plugins
PLUGINDIR ?= $(PREFIX)/lib/nagios/plugins
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/mxprobe

CC ?= cc
PKGS := libcares yaml-0.1 libpsl libssl libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

VERSION := 0.1.0
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
else
SANFLAGS :=
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) \
              -Iinclude -Isrc/core $(PKG_CFLAGS) \
              -DMXP_VERSION='"$(VERSION)"' \
              -DMXP_PLUGIN_DIR='"$(MXP_PLUGINDIR)"' \
              -DMXP_CONFIG_FILE='"$(SYSCONFDIR)/mxprobe/mxprobe.yaml"' -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

CORE_SRC := $(filter-out src/core/main.c,$(wildcard src/core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(O)/obj/%.o) $(O)/obj/gen/default_config.o
MAIN_OBJ := $(O)/obj/src/core/main.o
CORE_LIB := $(O)/libmxpcore.a

PLUGIN_NAMES := $(notdir $(wildcard plugins/*))
PLUGINS := $(PLUGIN_NAMES:%=$(O)/plugins/%.so)
TEST_PLUGIN_NAMES := $(basename $(notdir $(wildcard tests/plugins/*.c)))
TEST_PLUGINS := $(TEST_PLUGIN_NAMES:%=$(O)/test-plugins/%.so)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
UNIT_SUPPORT := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

TOOLS_SRC := $(wildcard tests/tools/*.c bench/*.c)
TOOLS := $(patsubst %.c,$(O)/tools/%,$(notdir $(TOOLS_SRC)))

.PHONY: all programs deps check check-unit check-integration check-configs \
        check-package asan bench fuzz install deb clean format \
        demo demo-stop check-demo
all: $(O)/mxprobe $(PLUGINS) $(TEST_PLUGINS) $(TOOLS)

# What make install installs, without the test helpers (debian/rules).
programs: $(O)/mxprobe $(PLUGINS)

deps:
	sh src/tools/install-deps.sh

# The paths and version compiled in (-D above): when they change (make
# install PREFIX=/opt after a plain make), the stamp does and the core
# files that use them are rebuilt, so the installed binary reads the
# config and loads the checks where this install puts them.
PATHS_STAMP := $(O)/compiled-paths
PATHS_NOW := $(VERSION) $(MXP_PLUGINDIR) $(SYSCONFDIR)
PATHS_USERS := $(shell grep -l -E 'MXP_(VERSION|PLUGIN_DIR|CONFIG_FILE)' \
                 src/core/*.c)
$(PATHS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ '$(PATHS_NOW)' != "$$(cat $@ 2>/dev/null)" ]; then \
	    echo '$(PATHS_NOW)' >$@; fi
$(PATHS_USERS:%.c=$(O)/obj/%.o): $(PATHS_STAMP)
.PHONY: FORCE
FORCE:

$(O)/mxprobe: $(MAIN_OBJ) $(CORE_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lm

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/gen/default_config.c: conf/mxprobe.yaml src/tools/embed.sh
	@mkdir -p $(@D)
	sh src/tools/embed.sh mxp_default_config $< > $@

$(O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# A plugin is every .c in plugins/<name>/, plus any conf/<name>.yaml
# compiled in as its built-in default (symbol mxp_default_<name>).
# PLUGIN_LIBS_<name>: the libraries that plugin (and its unit test,
# test_<name>) links besides -lm.
PLUGIN_LIBS_geoip := -lmaxminddb
PLUGIN_LIBS_tls := -lcrypto
PLUGIN_CFLAGS = $(ALL_CFLAGS) -fPIC -fvisibility=hidden
define plugin_rule
$(O)/plugins/$(1).so: $(wildcard plugins/$(1)/*.c) $(wildcard plugins/$(1)/*.h) $(wildcard conf/$(1).yaml) include/mxprobe/plugin.h src/tools/embed.sh
	@mkdir -p $(O)/plugins $(O)/gen
	$(if $(wildcard conf/$(1).yaml),sh src/tools/embed.sh mxp_default_$(1) conf/$(1).yaml > $(O)/gen/plugin_$(1)_conf.c)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $$@ $(wildcard plugins/$(1)/*.c) \
	    $(if $(wildcard conf/$(1).yaml),$(O)/gen/plugin_$(1)_conf.c) \
	    $(ALL_LDFLAGS) $(PLUGIN_LIBS_$(1)) -lm
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call plugin_rule,$(p))))

$(O)/test-plugins/%.so: tests/plugins/%.c include/mxprobe/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(ALL_LDFLAGS)

# Unit tests: one cmocka binary per tests/unit/test_*.c, linked with the
# core library and any tests/unit support files.  Plugin tests #include
# their plugin's sources, which the compiler's dependency file misses
# (with several inputs it keeps only the last one's): list them all.
$(O)/tests/test_%: tests/unit/test_%.c $(UNIT_SUPPORT) $(CORE_LIB) \
                   $(wildcard plugins/*/*.c plugins/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(UNIT_SUPPORT) $(CORE_LIB) \
	    $(ALL_LDFLAGS) $(PKG_LIBS) $(PLUGIN_LIBS_$*) \
	    $(shell pkg-config --libs cmocka) -ldl -lm

# Test and benchmark helpers (fake servers, DNS delay forwarder).
$(O)/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(PKG_LIBS) -lm
$(O)/tools/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(PKG_LIBS) -lm

check-unit: all $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

check-integration: all
	@MXPROBE_BUILD=$(O) sh tests/integration/run.sh

# Every tests/configs/*.sh loads the shipped monitoring definitions
# (nagios/) into a real core and fails when the core rejects them.
check-configs: all
	@for t in $(wildcard tests/configs/*.sh); do sh $$t || exit 1; done

# make demo: tests/demo/demo.sh (its state in /tmp/mxprobe-demo).
# check-demo runs make demo and make demo-stop on addresses of its own
# (127.0.4.x) and checks what they report and leave behind.
demo: all
	@MXPROBE_BUILD=$(O) bash tests/demo/demo.sh start

demo-stop:
	@bash tests/demo/demo.sh stop

check-demo: all
	@MXPROBE_BUILD=$(O) bash tests/demo/check.sh

asan:
	$(MAKE) O=build/asan SAN=1 all

# The sanitizer build runs every test; the plain build runs the unit
# tests too, so both configurations are known to work; clang builds the
# tree as well, so it stays warning-free under both compilers; check-demo
# runs make demo and make demo-stop.
check:
	$(MAKE) all check-unit
	$(MAKE) O=build/clang CC=clang all
	$(MAKE) check-configs
	$(MAKE) check-package
	$(MAKE) check-demo
	$(MAKE) O=build/asan SAN=1 check-unit check-integration

bench: all
	sh bench/run.sh

fuzz: all
	sh tests/fuzz/run.sh

# check_mxprobe: the name monitoring cores look for in PLUGINDIR, a
# link to the one binary (it behaves the same under either name).  A
# config file the admin has edited is not replaced: the shipped one goes
# next to it as FILE.dist.
install: $(O)/mxprobe $(PLUGINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MXP_PLUGINDIR) \
	    $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(SYSCONFDIR)/mxprobe \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(O)/mxprobe $(DESTDIR)$(BINDIR)/mxprobe
	ln -sf $(BINDIR)/mxprobe $(DESTDIR)$(PLUGINDIR)/check_mxprobe
	install -m 644 $(PLUGINS) $(DESTDIR)$(MXP_PLUGINDIR)/
	@for f in conf/*.yaml; do \
	    t=$(DESTDIR)$(SYSCONFDIR)/mxprobe/$${f#conf/}; \
	    if [ -e "$$t" ] && ! cmp -s "$$f" "$$t"; then \
	        echo "install: $$t is kept (edited); the shipped one is $$t.dist"; \
	        install -m 644 "$$f" "$$t.dist"; \
	    else \
	        install -m 644 "$$f" "$$t"; \
	    fi; \
	done
	install -m 644 $(wildcard doc/*.1) $(DESTDIR)$(MANDIR)/man1/
	$(if $(wildcard doc/*.5),install -d $(DESTDIR)$(MANDIR)/man5 && \
	    install -m 644 $(wildcard doc/*.5) $(DESTDIR)$(MANDIR)/man5/)
	cp -R nagios $(DESTDIR)$(DOCDIR)/examples/
	chmod -R u=rwX,go=rX $(DESTDIR)$(DOCDIR)/examples/nagios

# The Debian package, built from a copy of the files of the work tree
# that git tracks or would add (outside git: all but build/) in
# build/deb/mxprobe-$(VERSION), so that the tree and its build/ are
# untouched; the .deb lands in build/deb/.  DEB_BUILD_OPTIONS (nocheck,
# parallel=N; dpkg-buildpackage defaults to one job per CPU) is passed
# on; lintian fails on the tags of LINTIAN_FAIL_ON.
DEB_DIR := build/deb
LINTIAN_FAIL_ON ?= error
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/mxprobe-$(VERSION)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard; \
	else \
	    find . -path ./build -prune -o ! -type d -print0; \
	fi >$(DEB_DIR)/files
	tar -c -f $(DEB_DIR)/src.tar --null --no-recursion -T $(DEB_DIR)/files
	tar -x -f $(DEB_DIR)/src.tar -C $(DEB_DIR)/mxprobe-$(VERSION)
	rm $(DEB_DIR)/files $(DEB_DIR)/src.tar
	cd $(DEB_DIR)/mxprobe-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian $(if $(filter 0,$(shell id -u)),--allow-root) --fail-on $(LINTIAN_FAIL_ON) \
	    $(DEB_DIR)/mxprobe_$(VERSION)_*.changes

# make deb without the unit tests (make check ran them) and the -dbgsym
# package, lintian failing on warnings too, then the file list and (as
# root) a real apt-get install, run and purge (tests/package/check-deb.sh);
# then make install into a temp PREFIX and DESTDIR (check-install.sh).
check-package:
	DEB_BUILD_OPTIONS="nocheck noautodbgsym $(DEB_BUILD_OPTIONS)" \
	    $(MAKE) deb LINTIAN_FAIL_ON=error,warning
	sh tests/package/check-deb.sh $(DEB_DIR) $(VERSION)
	MAKE="$(MAKE) O=$(O)" sh tests/package/check-install.sh

format:
	clang-format -i $(wildcard src/core/*.[ch] plugins/*/*.c include/mxprobe/*.h tests/unit/*.c tests/plugins/*.c tests/tools/*.c bench/*.c)

clean:
	rm -rf build

-include $(shell find $(O)/obj $(O)/tests $(O)/tools -name '*.d' 2>/dev/null)
