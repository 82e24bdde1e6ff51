# Shared by layers/common/Makefile and functions/Makefile, which `sam build` runs (BuildMethod: makefile)
# in a scratch copy of the resource's folder with ARTIFACTS_DIR set.

# The byte code must be CPython 3.13's (the Lambda runtime's): `make build` puts the SAM venv, which has
# one, first on PATH; `make build PYTHON=/path/to/python3.13` names another.
PYTHON ?= python3.13

# Byte code Lambda can use as shipped. The package's files reach Lambda through a zip that `sam package`
# writes with every entry dated 1980-01-01 (so that unchanged code zips to the same hash), and /opt and
# /var/task are read-only. Default .pyc files record their source's mtime and size: after the zip every
# one looks stale, so each cold start would compile all of it again in memory and fail to write the result.
# Hash-based .pyc (PEP 552) record a hash of their source instead; "unchecked" ones are trusted without
# reading the source again, which is sound for a layer or function version: its files never change once
# published. -s/-p record the paths the files have on Lambda instead of this build's scratch folder, so the
# same sources compile to the same bytes wherever they are built; optimisation level 0 matches a runtime
# started without -O.
COMPILE_BYTE_CODE = $(PYTHON) -m compileall -q -f -j 0 -o 0 --invalidation-mode unchecked-hash

.PHONY: check-python
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { \
	  echo "error: '$(PYTHON)' is not Python 3.13, the Lambda runtime the byte code is compiled for." >&2; \
	  echo "  run \`make build\` (it puts the SAM venv's python3.13 first on PATH)," >&2; \
	  echo "  or pass PYTHON=/path/to/python3.13" >&2; exit 1; }
	@[ -n "$(ARTIFACTS_DIR)" ] || { echo "error: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
