#!/usr/bin/python3
"""Interop peer on Debian's python3-websockets (asyncio API, 10.x):

    /usr/bin/python3 py_peer.py client URL
    /usr/bin/python3 py_peer.py await-close URL  (our server closes first: close:ours-first)
    /usr/bin/python3 py_peer.py server PORT      (0: a free port)

Drives the plan in plan.py over one connection; as a server it accepts one client and
chooses "chat" when offered.

PY_PEER_PMD: permessage-deflate as JSON: {} for websockets' default (12-bit windows both
ways), or keyword arguments of its PerMessageDeflate factories
({"server_max_window_bits": 9, "client_no_context_takeover": true, ...}). Then the
peer also reports pmd:agreed (the response's Sec-WebSocket-Extensions) and
pmd:rsv1 (how many of our side's messages arrived with RSV1). Unset: websockets'
defaults as they are (its client offers permessage-deflate, its server accepts it)."""
import asyncio
import json
import os
import sys

import websockets
from websockets.extensions import permessage_deflate
from websockets.frames import Opcode

import plan

MAX_SIZE = 8 << 20
OVERALL = 90.0
PMD = json.loads(os.environ["PY_PEER_PMD"]) if os.environ.get("PY_PEER_PMD") else None
OUR_THRESHOLD = 32  # see plan.js rsv1Check


def pmd_kwargs(server):
    """websockets' compression arguments for PMD."""
    if PMD is None or not PMD:
        return {}
    settings = dict(PMD)
    settings.setdefault("compress_settings", {"memLevel": 5})
    factory = (permessage_deflate.ServerPerMessageDeflateFactory if server
               else permessage_deflate.ClientPerMessageDeflateFactory)
    return {"compression": None, "extensions": [factory(**settings)]}


def count_rsv1(ws):
    """Counts our side's data frames and those with RSV1, as websockets' extension sees
    them before it inflates (every frame passes through its decode)."""
    st = {"messages": 0, "compressed": 0, "frames": 0}
    for ext in ws.extensions:
        decode = ext.decode

        def counting(frame, *args, _decode=decode, **kwargs):
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                st["messages"] += 1
                st["compressed"] += bool(frame.rsv1)
            return _decode(frame, *args, **kwargs)
        ext.decode = counting
    return st


def report_compression(ws, st, sizes, our_role):
    header = ws.response_headers.get("Sec-WebSocket-Extensions", "")
    active = [e.name for e in ws.extensions]
    plan.report("pmd:agreed", "permessage-deflate" in active,
                'extensions %s, header "%s"' % (active, header))
    most = sum(n >= OUR_THRESHOLD for n in sizes)
    least = sum(n >= 4096 for n in sizes) if "%s_no_context_takeover" % our_role in header else most
    ok = st["messages"] == len(sizes) and least <= st["compressed"] <= most
    plan.report("pmd:rsv1", ok, "%d of %d messages from our side had RSV1 (want %s of %d)"
                % (st["compressed"], st["messages"], most if least == most else "%d to %d" % (least, most),
                   len(sizes)))


async def drive(ws, closing, our_role):
    check = "subprotocol"
    step = plan.STEP_TIMEOUT
    st = count_rsv1(ws) if PMD is not None else None
    sizes = []
    recv = ws.recv

    async def counted_recv():
        got = await recv()
        sizes.append(len(got.encode() if isinstance(got, str) else got))
        return got
    ws.recv = counted_recv
    try:
        plan.report(check, ws.subprotocol == "chat", 'negotiated "%s"' % ws.subprotocol)
        for check, data in plan.messages():
            await asyncio.wait_for(ws.send(data), step)
            got = await asyncio.wait_for(ws.recv(), step)
            same = type(got) is type(data) and got == data
            plan.report(check, same, plan.describe(got) if same else
                        "sent %s, got %s" % (plan.describe(data), plan.describe(got)))
        check = "fragment"
        await asyncio.wait_for(ws.send(iter(plan.FRAGMENTS)), step)  # one frame per piece
        got = await asyncio.wait_for(ws.recv(), step)
        want = "".join(plan.FRAGMENTS)
        plan.report(check, got == want, "3 frames, %s -> %s" % (plan.describe(want), plan.describe(got)))

        check = "fragment:ping-between"

        async def pieces_with_a_ping():  # the pong must come back mid-message
            yield plan.FRAGMENTS[0]
            await asyncio.wait_for(await ws.ping(plan.PING), step)
            for piece in plan.FRAGMENTS[1:]:
                yield piece

        await asyncio.wait_for(ws.send(pieces_with_a_ping()), step)
        got = await asyncio.wait_for(ws.recv(), step)
        plan.report(check, got == want, "3 frames and a ping, %s -> %s" % (plan.describe(want), plan.describe(got)))
        check = "ping"
        pong = await ws.ping(plan.PING)  # resolves on the pong with this same payload
        await asyncio.wait_for(pong, step)
        plan.report(check, True, "pong payload %s" % plan.PING.hex())
        check = "burst:messages"  # (no burst:pings: websockets does not show each pong)
        sent = list(plan.burst())
        for data in sent:
            await asyncio.wait_for(ws.send(data), step)
        for i, data in enumerate(sent):
            got = await asyncio.wait_for(ws.recv(), step)
            if type(got) is not type(data) or got != data:
                raise ValueError("message %d: sent %s, got %s" % (i, plan.describe(data), plan.describe(got)))
        plan.report(check, True, "%d messages of 0 B to 1 MiB echoed in order" % len(sent))
        if st is not None:
            report_compression(ws, st, sizes, our_role)
        check = "close:peer"
        code, reason = closing
        await asyncio.wait_for(ws.close(code, reason), step)
        plan.report(check, ws.close_code == code, 'sent %d "%s", echo %s "%s"'
                    % (code, reason, ws.close_code, ws.close_reason))
        return True
    except Exception as e:  # a timeout, a dropped connection: this check failed
        plan.report(check, False, "%s: %s" % (type(e).__name__, e))
        return False


async def await_close(ws):
    """Our server starts the close (see plan.js awaitClose); report what arrives."""
    print("OPEN", flush=True)
    try:
        await asyncio.wait_for(ws.wait_closed(), plan.STEP_TIMEOUT)
    except asyncio.TimeoutError:
        plan.report("close:ours-first", False, "no close within %d s" % plan.STEP_TIMEOUT)
        return False
    got = (ws.close_code, ws.close_reason)
    plan.report("close:ours-first", got == plan.CLOSE_BY_OURS, 'got %s "%s"' % got)
    return got == plan.CLOSE_BY_OURS


async def client(url, mode):
    try:
        ws = await asyncio.wait_for(websockets.connect(
            url, subprotocols=["chat", "superchat"], max_size=MAX_SIZE, ping_interval=None,
            **pmd_kwargs(False)), plan.STEP_TIMEOUT)
    except Exception as e:
        plan.report("subprotocol" if mode == "client" else "close:ours-first", False, "connect: %s" % e)
        return False
    if mode == "await-close":
        return await await_close(ws)
    return await drive(ws, plan.CLOSE_BY_CLIENT, "server")


async def server(port):
    done = asyncio.get_running_loop().create_future()

    async def handler(ws, path=None):
        ok = await drive(ws, plan.CLOSE_BY_SERVER, "client")
        if not done.done():
            done.set_result(ok)

    async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["chat"],
                                max_size=MAX_SIZE, ping_interval=None, **pmd_kwargs(True)) as srv:
        print("listening on 127.0.0.1:%d" % srv.sockets[0].getsockname()[1], flush=True)
        return await done


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("client", "await-close", "server"):
        sys.exit("usage: py_peer.py client|await-close URL | py_peer.py server PORT")
    mode = sys.argv[1]
    run = server(int(sys.argv[2])) if mode == "server" else client(sys.argv[2], mode)
    ok = asyncio.run(asyncio.wait_for(run, OVERALL))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
