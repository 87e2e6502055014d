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

const TYPE_NAMES = {
  request: 'request',
  notify: 'notification',
  reply: 'reply',
  error: 'error',
} as const;
const MEMBERS = ['method', 'params', 'result', 'error', 'id'] as const;
// Members present, one bit each in MEMBERS' order; PATTERNS: which each type must have (the
// others it must not have).
const M_METHOD = 1;
const M_PARAMS = 2;
const M_RESULT = 4;
const M_ERROR = 8;
const M_ID = 16;
const PATTERNS = {
  request: M_METHOD | M_PARAMS | M_ID,
  notify: M_METHOD | M_PARAMS,
  reply: M_RESULT | M_ID,
  error: M_ERROR | M_ID,
} as const;

/**
 * Classifies and validates a received value by OVS's rules. Throws JsonRpcMessageError with
 * OVS's text on failure. Every message a peer sends passes through here: its members are
 * read once each.
 */
export function messageFromJson(json: Json): JsonRpcMessage {
  if (!isJsonObject(json)) throw new JsonRpcMessageError('message is not a JSON object');
  const method = json.method;
  if (method !== undefined && method !== null && typeof method !== 'string') {
    throw new JsonRpcMessageError('method is not a JSON string');
  }
  for (const k in json) {
    if (k !== 'method' && k !== 'params' && k !== 'id' && k !== 'result' && k !== 'error') {
      throw new JsonRpcMessageError(`message has unexpected member "${k}"`);
    }
  }
  const params = json.params;
  const result = json.result;
  const error = json.error;
  const id = json.id;
  const present =
    (method != null ? M_METHOD : 0) |
    (params != null ? M_PARAMS : 0) |
    (result != null ? M_RESULT : 0) |
    (error != null ? M_ERROR : 0) |
    (id != null ? M_ID : 0);
  const type =
    present & M_RESULT
      ? 'reply'
      : present & M_ERROR
        ? 'error'
        : present & M_ID
          ? 'request'
          : 'notify';
  if (params != null && !Array.isArray(params)) {
    throw new JsonRpcMessageError('"params" must be JSON array');
  }
  const wrong = present ^ PATTERNS[type];
  if (wrong !== 0) {
    let i = 0;
    while ((wrong & (1 << i)) === 0) i++;
    throw new JsonRpcMessageError(
      `${TYPE_NAMES[type]} must${PATTERNS[type] & (1 << i) ? '' : ' not'} have "${MEMBERS[i]}"`,
    );
  }
  switch (type) {
    case 'request':
      return { type, method: method as string, params: params as Json[], id: id as Json };
    case 'notify':
      return { type, method: method as string, params: params as Json[] };
    case 'reply':
      return { type, result: result as Json, id: id as Json };
    case 'error':
      return { type, error: error as Json, id: id as Json };
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
