#!/bin/sh
# One of FRR's own topotests (the GR regression, topotests/CMakeLists.txt):
#   run_frr_regression.sh PYTHON TEST_FOLDER [ATTEMPTS [PYTEST ARGS...]]
# With ATTEMPTS > 1 (a test known to race, said there), a failed run is
# followed by another, said in the output, up to ATTEMPTS runs; the test
# passes only on a run that passes whole. PYTEST ARGS: --deselect of a case
# that is not run (said there too).
python=$1 test=$2 attempts=${3:-1}
if [ $# -ge 3 ]; then shift 3; else shift $#; fi
run=1
while :; do
    "$python" -m pytest -v -p no:cacheprovider "$@" "$test" && exit 0
    [ "$run" -ge "$attempts" ] && exit 1
    run=$((run + 1))
    echo "frr-regression: $test failed, run $run of $attempts (topotests/CMakeLists.txt says why)"
done
