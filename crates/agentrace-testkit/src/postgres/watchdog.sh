# Stops the shared test cluster once no test process has used it for a while.
#
# Runs detached, as the cluster's owner, with: $1 the cluster directory, $2 the
# pg_ctl to stop it with, $3 the idle seconds to wait. Every live test process
# holds a shared flock on users.lock; it joins the cluster while holding
# setup.lock. This loop inspects users.lock only under setup.lock, so a process
# that is joining cannot see the cluster alive and then lose it.
set -u
root=$1
pg_ctl=$2
idle_limit=$3

# One watchdog per cluster: a second one started by a racing test process
# finds this lock taken and leaves.
exec 7<"$root/watchdog.lock"
flock -n -x 7 || exit 0

idle=0
while sleep 1; do
    exec 8<"$root/setup.lock"
    flock -x 8
    exec 9<"$root/users.lock"
    if flock -n -x 9; then idle=$((idle + 1)); else idle=0; fi
    exec 9<&-
    if [ "$idle" -ge "$idle_limit" ]; then
        if [ -f "$root/data/postmaster.pid" ]; then
            "$pg_ctl" stop -D "$root/data" -m immediate -w >/dev/null 2>&1
        fi
        # The lock files stay: a process may already be waiting on them, and
        # a new file under the same name would let two processes hold "the"
        # lock at once.
        rm -rf "$root/data" "$root/socket" "$root/port" "$root/postgres.log"
        # Let go of the watchdog lock before setup.lock, so that whoever takes
        # setup.lock next sees no watchdog and starts one with the cluster.
        exec 7<&-
        exit 0
    fi
    exec 8<&-
done
