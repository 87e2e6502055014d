/**
 * JSON-RPC 1.0 messages as OVS exchanges them (lib/jsonrpc.c): requests {method, params, id},
 * notifications {method, params, id: null}, replies {result, error: null, id} and error replies
 * {result: null, error, id}. Messages are plain data; a JSON null member counts as absent, as in
 * OVS, so validation errors carry OVS's exact texts ("request must have \"id\"", ...).
 */
import { isJsonObject, type Json, type JsonObject } from '../json.ts';

export interface JsonRpcRequest {
  type: 'request';
  method: string;
  params: Json[];
  id: Json;
}
export interface JsonRpcNotify {
  type: 'notify';
  method: string;
  params: Json[];
}
export interface JsonRpcReply {
  type: 'reply';
  result: Json;
  id: Json;
}
export interface JsonRpcError {
  type: 'error';
  error: Json;
  id: Json;
}
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotify | JsonRpcReply | JsonRpcError;

/** A JSON value that is not a valid JSON-RPC message. */
export class JsonRpcMessageError extends Error {
  override readonly name = 'JsonRpcMessageError';
  readonly code = 'EPROTO';
}

const KNOWN = new Set(['method', 'params', 'result', 'error', 'id']);
const TYPE_NAMES = {
  request: 'request',
  notify: 'notification',
  reply: 'reply',
  error: 'error',
} as const;
// Which members each type must have (1) or must not have (0): method, params, result, error, id.
const PATTERNS = {
  request: [1, 1, 0, 0, 1],
  notify: [1, 1, 0, 0, 0],
  reply: [0, 0, 1, 0, 1],
  error: [0, 0, 0, 1, 1],
} as const;
const MEMBERS = ['method', 'params', 'result', 'error', 'id'] as const;

/**
 * Classifies and validates a received value by OVS's rules. Throws JsonRpcMessageError with
 * OVS's text on failure.
 */
export function messageFromJson(json: Json): JsonRpcMessage {
  if (!isJsonObject(json)) throw new JsonRpcMessageError('message is not a JSON object');
  const method = json.method;
  if (method !== undefined && method !== null && typeof method !== 'string') {
    throw new JsonRpcMessageError('method is not a JSON string');
  }
  const present = (k: string): boolean => json[k] !== undefined && json[k] !== null;
  for (const k in json) {
    if (!KNOWN.has(k)) throw new JsonRpcMessageError(`message has unexpected member "${k}"`);
  }
  const type = present('result')
    ? 'reply'
    : present('error')
      ? 'error'
      : present('id')
        ? 'request'
        : 'notify';
  if (present('params') && !Array.isArray(json.params)) {
    throw new JsonRpcMessageError('"params" must be JSON array');
  }
  const pattern = PATTERNS[type];
  for (let i = 0; i < 5; i++) {
    const m = MEMBERS[i];
    if (present(m) !== (pattern[i] === 1)) {
      throw new JsonRpcMessageError(
        `${TYPE_NAMES[type]} must${pattern[i] ? '' : ' not'} have "${m}"`,
      );
    }
  }
  switch (type) {
    case 'request':
      return { type, method: method as string, params: json.params as Json[], id: json.id };
    case 'notify':
      return { type, method: method as string, params: json.params as Json[] };
    case 'reply':
      return { type, result: json.result, id: json.id };
    case 'error':
      return { type, error: json.error, id: json.id };
  }
}

/** The wire form, with the explicit nulls OVS writes (its peers, and ours, accept both). */
export function messageToJson(msg: JsonRpcMessage): JsonObject {
  switch (msg.type) {
    case 'request':
      return { method: msg.method, params: msg.params, id: msg.id };
    case 'notify':
      return { method: msg.method, params: msg.params, id: null };
    case 'reply':
      return { result: msg.result, error: null, id: msg.id };
    case 'error':
      return { result: null, error: msg.error, id: msg.id };
  }
}

/** Serialises a message to the bytes sent on the wire (compact JSON, no delimiter). */
export function encodeMessage(msg: JsonRpcMessage): string {
  return JSON.stringify(messageToJson(msg));
}

export function request(method: string, params: Json[], id: Json): JsonRpcRequest {
  return { type: 'request', method, params, id };
}
export function notify(method: string, params: Json[]): JsonRpcNotify {
  return { type: 'notify', method, params };
}
export function reply(result: Json, id: Json): JsonRpcReply {
  return { type: 'reply', result, id };
}
export function errorReply(error: Json, id: Json): JsonRpcError {
  return { type: 'error', error, id };
}

/** A short form for logs, like OVS's jsonrpc_log_msg ("request method=..., params=..., id=..."). */
export function describeMessage(msg: JsonRpcMessage): string {
  switch (msg.type) {
    case 'request':
      return `request, method="${msg.method}", params=${JSON.stringify(msg.params)}, id=${JSON.stringify(msg.id)}`;
    case 'notify':
      return `notification, method="${msg.method}", params=${JSON.stringify(msg.params)}`;
    case 'reply':
      return `reply, result=${JSON.stringify(msg.result)}, id=${JSON.stringify(msg.id)}`;
    case 'error':
      return `error, error=${JSON.stringify(msg.error)}, id=${JSON.stringify(msg.id)}`;
  }
}
