/**
 * unixctl (OVS lib/unixctl.c): the control socket every daemon serves and ovs-appctl talks to.
 * Server: `UnixctlServer.create({program, path?})`, commands registered with
 * `unixctlCommandRegister(name, usage, min, max, handler)` (handlers return the reply text or
 * throw `UnixctlError`). Client: `unixctlCommand(path, command, args)`.
 */
export * from './client.ts';
export * from './server.ts';
export * from './version.ts';
