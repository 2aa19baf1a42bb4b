# TinyKV-TS. `make` (or `make help`) lists the targets.
#
# Variables:
#   IMPL=<dir>   implementation the stage targets test: relative to the repository, or any absolute path
#                (default: the stage's lab copy, e.g. labs/2a for project2aa; IMPL=reference for the reference)
#   RUN=<regex>  run only the tests whose name matches (vitest -t)
#   SEED=<n>     seed for the deterministic simulation, passed on to the tests
#   STAGE=<s>    stage for `make ui` (1, 2aa, 2ab, 2ac, 2a, 2b, ..., 4c)
#   LAB=<lab>    restrict `make integrity` to one lab (or a comma-separated list)

.DEFAULT_GOAL := help
SHELL := /bin/bash

TSX := node_modules/.bin/tsx

ifdef SEED
export SEED
endif
ifdef IMPL
export IMPL
endif
ifdef RUN
export RUN
endif

STAGE_TARGETS := project1 project2a project2aa project2ab project2ac project2b project2c \
	project3a project3b project3c project4a project4b project4c

.PHONY: help test typecheck labs labs-check handout integrity ui trace server scheduler cluster e2e ctl bench bugzoo power grade grade-class grade-merge $(STAGE_TARGETS)

help:
	@echo "TinyKV-TS targets:"
	@echo "  make grade STAGE=3b  grade a stage: every test RUNS times (default 20) on fresh seeds, JOBS workers; reports"
	@echo "                       (RUNS=, JOBS=, IMPL=, RUN=, SEED=<base>, TIME=<minutes>, SWARM=1, UNTIL_FAIL=1)"
	@echo "  make test            everything CI runs: type-check, all suites on reference/, labs-check, integrity"
	@echo "  make project1        stage 1 suite (standalone KV, raw API) against IMPL (default labs/1)"
	@echo "  make project2a       stages 2AA, 2AB and 2AC (raft) against IMPL (default labs/2a)"
	@echo "  make project2aa      stage 2AA (leader election) against IMPL (default labs/2a)"
	@echo "  make project2ab      stage 2AB (log replication) against IMPL (default labs/2a)"
	@echo "  make project2ac      stage 2AC (RawNode) against IMPL (default labs/2a)"
	@echo "  make project2b       stage 2B (raftstore) against IMPL (default labs/2b)"
	@echo "  make project2c       stage 2C (snapshots, log GC) against IMPL (default labs/2c)"
	@echo "  make project3a       stage 3A (leader transfer, conf change in raft) against IMPL (default labs/3a)"
	@echo "  make project3b       stage 3B (multi-raft raftstore) against IMPL (default labs/3b)"
	@echo "  make project3c       stage 3C (scheduler: region heartbeats, balance-region) against IMPL (default labs/3c)"
	@echo "  make project4a       stage 4A (MVCC) against IMPL (default labs/4a)"
	@echo "  make project4b       stage 4B (KvGet, KvPrewrite, KvCommit) against IMPL (default labs/4b)"
	@echo "  make project4c       stage 4C (KvScan, KvCheckTxnStatus, ...) against IMPL (default labs/4c)"
	@echo "  make grade-class STAGE=3b SUBMISSIONS=<dir>   grade a class: each submission's student blocks, sandboxed;"
	@echo "                       RUNS, JOBS, SEED, RUN, SHARD=i/n (0-based), OUT, RUN_TIMEOUT=<s>, MEMORY_MB; class.csv/json/html"
	@echo "  make grade-merge SHARDS=<dir> [OUT=<dir>]   the class report of a sharded grading"
	@echo "  make ui STAGE=2aa    Vitest UI for a stage's suites on http://127.0.0.1:51204/__vitest__/ (IMPL as above)"
	@echo "  make trace FILE=.tmp/traces/<test>-<seed>.jsonl   the trace viewer: one HTML page (lanes, messages, leaders, crashes)"
	@echo "  make server ARGS='--addr 127.0.0.1:20160 --path /tmp/tinykv-data'   tinykv-server of IMPL (default reference)"
	@echo "  make ctl ARGS='--addr 127.0.0.1:20160 get hello'                    tinykv-ctl of IMPL (default reference)"
	@echo "  make scheduler ARGS='--path /tmp/sched'                              tinyscheduler-server of IMPL"
	@echo "  make cluster [DIR=.tmp/cluster] [STORES=3]    a scheduler and 3 stores of IMPL on loopback; Ctrl-C stops them"
	@echo "  make e2e             the end-to-end test of a real cluster of processes alone (about 40 s; also in npm test)"
	@echo "  make labs            regenerate the lab copies labs/<lab>/ from the markers in reference/ (refuses to"
	@echo "                       overwrite files changed since it wrote them: FORCE=1 overrides)"
	@echo "  make handout LAB=2a OUT=<dir>   a student repository for one lab: its code, the suites up to it, no solutions"
	@echo "  make labs-check      fail if labs/ differs from what reference/ generates"
	@echo "  make integrity       integrity matrix of the lab copies (LAB=2a for one lab)"
	@echo "  make integrity VERIFY=1   also re-run reused suites and check they match the reference results"
	@echo "  make typecheck       tsc --noEmit over the whole project"
	@echo "  make bench           benchmarks (timing figures)"
	@echo "  make bugzoo          prove the suites catch each known student bug (BUG=<n> for one)"
	@echo "  make power BUG=42    measure a zoo bug's failure rate per run of its suite (RUNS=100, SWARM=off|on|both,"
	@echo "                       RUN=<regex>, RECORD=1 keeps it in bugs.json); make power GUIDE=1 rewrites GUIDE's table"
	@echo "Variables: IMPL=<dir> (e.g. IMPL=reference), RUN=<test name regex>, SEED=<n>"

test:
	npm test

typecheck:
	node_modules/.bin/tsc --noEmit -p .

grade:
	@$(TSX) harness/grader/cli.ts

grade-class:
	@$(TSX) harness/class/cli.ts grade

grade-merge:
	@$(TSX) harness/class/cli.ts merge

$(STAGE_TARGETS):
	@$(TSX) harness/labs/run-stage.ts $(patsubst project%,%,$@)

trace:
	@$(TSX) harness/trace-viewer/viewer.ts $(FILE) $(OUT)

# The binaries of IMPL (default reference/) as one node process each: `exec` leaves no shell between make and
# node, and impl-register.ts lets an IMPL outside the repository import #proto and the packages.
RUN_BIN := exec node --import tsx --import ./harness/tools/impl-register.ts

server:
	@$(RUN_BIN) $(or $(IMPL),reference)/bin/tinykv-server.ts $(ARGS)

ctl:
	@$(RUN_BIN) $(or $(IMPL),reference)/bin/tinykv-ctl.ts $(ARGS)

scheduler:
	@$(RUN_BIN) $(or $(IMPL),reference)/bin/tinyscheduler-server.ts $(ARGS)

e2e:
	@node_modules/.bin/vitest run harness/real-cluster/cluster.test.ts

cluster:
	@exec node --import tsx harness/real-cluster/playground.ts $(if $(DIR),--dir $(DIR)) $(if $(STORES),--stores $(STORES)) $(if $(IMPL),--impl $(IMPL)) $(if $(SLOW),--slow)

ui:
	@if [ -z "$(STAGE)" ]; then echo "usage: make ui STAGE=<stage> [IMPL=<dir>]   e.g. make ui STAGE=2aa IMPL=reference" >&2; exit 2; fi
	@$(TSX) harness/labs/run-stage.ts "$(STAGE)" --ui

labs:
	@$(TSX) harness/labs/generate.ts $(if $(FORCE),--force)

handout:
	@if [ -z "$(LAB)" ] || [ -z "$(OUT)" ]; then echo "usage: make handout LAB=<lab> OUT=<dir>   e.g. make handout LAB=2a OUT=../tinykv-2a" >&2; exit 2; fi
	@$(TSX) harness/handout/build.ts "$(LAB)" "$(OUT)"

labs-check:
	@$(TSX) harness/labs/generate.ts --check

integrity:
	@$(TSX) harness/labs/integrity.ts $(if $(LAB),--lab $(LAB)) $(if $(VERIFY),--verify-reuse)

bench:
	npx tsx harness/bench/run.ts

bugzoo:
	@$(TSX) harness/bugzoo/run.ts $(if $(BUG),--bug $(BUG))

power:
	@$(TSX) harness/bugzoo/power.ts $(if $(BUG),--bug $(BUG)) $(if $(RUNS),--runs $(RUNS)) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(SEED),--seed $(SEED)) $(if $(SWARM),--swarm $(SWARM)) $(if $(RUN),--run '$(RUN)') $(if $(RECORD),--record) $(if $(GUIDE),--guide)
