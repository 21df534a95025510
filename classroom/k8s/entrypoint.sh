#!/bin/sh
# The netlab image's entrypoint (scripts/image installs it as /opt/netlab/bin/netlab-pod).
#
# It runs as root of the pod's own user namespace (hostUsers: false): root in here, an ordinary
# user on the node. The pod is already a private world, so netlab makes no nested user namespace
# (NETLAB_POD_MODE=1); each notebook kernel and terminal still gets a fresh network world of its own.
#
#   no arguments     JupyterLab on the lessons, port 8888 of the pod (one student, no hub:
#                    classroom/k8s/pod.yaml, then kubectl port-forward pod/netlab 8888)
#   a command        that command: Zero to JupyterHub starts jupyterhub-singleuser this way
set -eu
export NETLAB_POD_MODE=1
lessons="$HOME/netlab-lessons"  # not ~/netlab: that folder would shadow the package
if [ ! -e "$lessons" ]; then  # the first start: the student's own copy (later starts keep their work)
    mkdir -p "$lessons"
    cp -R /opt/netlab/notebooks/. "$lessons/"
fi
cd "$HOME"
if [ $# -eq 0 ]; then
    exec netlab lab --notebooks "$lessons" --port 8888
fi
exec "$@"
