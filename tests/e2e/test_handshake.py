#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The real impala-actor against a fake learner: a ROUTER socket speaking
the handshake through Debian's python3-zmq (issue 14).  What an actor does
with a learner's refusals:
  - its Hello speaks the current protocol version and carries its instance
    nonce (nonzero, the same in every Hello of the process);
  - REFUSAL_ACTOR_ID_IN_USE (another live process holds the id) is not
    final: the actor logs the learner's reason once and keeps retrying;
  - REFUSAL_PROTOCOL_VERSION is final: the actor logs the learner's reason
    ("learner refused: learner speaks protocol version 3, actor 2") and
    exits 2 (systemd does not restart it) without another Hello.
"""
import os
import sys
import time

try:
    import zmq
except ImportError:  # meson checks first; this is for runs by hand
    print("python3-zmq is not installed (scripts/install-deps.sh)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(__file__))
import pbwire as pb  # noqa: E402
from harness import Cluster, free_base_port  # noqa: E402

IN_USE = ("actor id 9 is held by another live actor process; it is free once "
          "that one says Goodbye or is silent for 10 s (--actor-timeout)")
OTHER_VERSION = pb.PROTOCOL_VERSION + 1
VERSION_REASON = f"learner speaks protocol version {OTHER_VERSION}, actor {pb.PROTOCOL_VERSION}"


def recv_hello(router, timeout_s=20):
    """(routing id, decoded Hello fields) of the next message."""
    assert router.poll(int(timeout_s * 1000)), "no Hello from the actor"
    ident, body = router.recv_multipart()
    c = pb.decode(body)
    assert 1 in c, f"not a Hello: fields {sorted(c)}"
    return ident, pb.decode(c[1][0])


def refuse(router, ident, code, reason):
    w = pb.f_varint(1, OTHER_VERSION if code == 1 else pb.PROTOCOL_VERSION)
    w += pb.f_varint(2, code) + pb.f_bytes(3, reason.encode())
    router.send_multipart([ident, pb.f_msg(2, w)])


def main():
    ctx = zmq.Context.instance()
    with Cluster() as c:
        c.base = free_base_port()
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.bind(c.address)
        try:
            a = c.start_actor(9, 1)
            instances = set()
            for _ in range(3):
                ident, h = recv_hello(router)
                assert pb.first(h, 1) == pb.PROTOCOL_VERSION, h
                assert pb.first(h, 2) == 9, h
                instances.add(pb.first(h, 9, 0))
                refuse(router, ident, 7, IN_USE)
            assert len(instances) == 1 and 0 not in instances, \
                f"Hello.instance must be one nonzero value per process: {instances}"
            ident, h = recv_hello(router)
            refuse(router, ident, 1, VERSION_REASON)
            rc = a.wait(20)
            log = a.text()
            assert rc == 2, f"actor exit {rc} after a protocol refusal: {log[-2000:]}"
            assert f"learner refused: {VERSION_REASON}" in log, log[-2000:]
            said = log.count(IN_USE)
            assert said == 1, f"the in-use refusal logged {said} times for 3 refusals: {log[-2000:]}"
            time.sleep(0.5)
            assert not router.poll(0), "a Hello after a permanent refusal"
        finally:
            router.close(0)
    ctx.term()
    print("ok")


if __name__ == "__main__":
    main()
