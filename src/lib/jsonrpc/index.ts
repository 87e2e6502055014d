/**
 * JSON-RPC as OVS speaks it (lib/jsonrpc.c): JSON-RPC 1.0 messages written back to back on a
 * byte stream with no delimiters.
 *
 * API summary
 * - Messages (message.ts): `JsonRpcMessage` = `JsonRpcRequest {type:'request', method, params, id}`
 *   | `JsonRpcNotify {type:'notify', method, params}` | `JsonRpcReply {type:'reply', result, id}`
 *   | `JsonRpcError {type:'error', error, id}`. `messageFromJson(json)` validates with OVS's rules
 *   and texts (throws `JsonRpcMessageError`), `encodeMessage(msg)` gives the wire string.
 * - Framing (framer.ts): `new JsonFramer({maxMessageSize}).feed(chunk, onValue)` finds complete
 *   top-level values across chunk boundaries; throws `JsonFramingError` (`code` EPROTO / E2BIG).
 * - Sessions (session.ts): `new JsonRpcSession(socket, {name, onRequest, onNotify, onClose,
 *   probeIntervalMs, maxBacklogBytes, maxMessageSize})`.
 *   `session.request(method, params, {timeoutMs}) → Promise<result>` (rejects with
 *   `JsonRpcRemoteError` carrying the reply's `error`, `JsonRpcClosedError`, or
 *   `JsonRpcTimeoutError`),
 *   `session.notify(method, params)`, `session.reply(id, result)`, `session.replyError(id, err)`,
 *   `session.send(msg)`, `session.sendRaw(text)` (pre-serialised), `session.backlog` (bytes
 *   queued), `session.close()` (flushes first),
 *   `session.onClose(cb(reason: CloseReason))`. Incoming "echo" requests are answered
 *   automatically and never reach `onRequest`. `onRequest` may reply later (asynchronously).
 * - Addresses (stream.ts): `parseActive`/`parsePassive`/`parseAddress` for unix:, tcp:, ssl:,
 *   punix:, ptcp:, pssl: (relative unix paths under OVS_RUNDIR), `openStream`, `listenStream`,
 *   `needsProbes(name)`, `OVSDB_PORT`, `TlsOptions {privateKey, certificate, caCert}` (paths).
 * - One-shot (open.ts): `connect(address, {tls, defaultPort, timeoutMs, ...session options})
 *   → Promise<JsonRpcSession>`; `listen(address, onSession, {tls, session}) → Promise<PassiveStream>`
 *   with `.port`, `.boundName`, `.close()`.
 * - Reconnecting (reconnect.ts): `new ReconnectingClient(remotes, {tls, defaultPort,
 *   onConnect(session), onDisconnect(reason), probeIntervalMs, minBackoff, maxBackoff})`,
 *   `.start()`, `.waitConnected(timeoutMs)`, `.session`, `.request(...)`, `.forceReconnect()`,
 *   `.close()`. The pure `Reconnect` backoff FSM is exported for tests.
 */
export * from './framer.ts';
export * from './message.ts';
export * from './open.ts';
export * from './reconnect.ts';
export * from './session.ts';
export * from './stream.ts';
