/*
 * The explanation ofproto/trace prints: a tree of nodes (bridges, tables, actions, details,
 * warnings, errors) built while a packet is translated, printed with OVS's indentation rules
 * (ofproto-dpif-trace.c): a node is indented one step further when it is not the last of its
 * list or is a terminal kind, and its children two steps further than that.
 */

export type TraceNodeType = 'bridge' | 'table' | 'action' | 'detail' | 'warn' | 'error' | 'bucket';

export interface TraceNode {
  readonly type: TraceNodeType;
  readonly text: string;
  readonly subs: TraceNode[];
}

const TERMINAL: ReadonlySet<TraceNodeType> = new Set([
  'action',
  'detail',
  'warn',
  'error',
  'bucket',
]);

/** Appends a node to `list` and returns the list its children go in. */
export function traceAdd(list: TraceNode[], type: TraceNodeType, text: string): TraceNode[] {
  const node: TraceNode = { type, text, subs: [] };
  list.push(node);
  return node.subs;
}

export function formatTrace(nodes: readonly TraceNode[], level = 0): string {
  let s = '';
  nodes.forEach((n, i) => {
    if (n.type === 'bridge') s += '\n';
    const more = i !== nodes.length - 1 || TERMINAL.has(n.type) ? 1 : 0;
    const indent = ' '.repeat((level + more) * 4);
    switch (n.type) {
      case 'detail':
        s += `${indent} -> ${n.text}\n`;
        break;
      case 'warn':
        s += `${indent} >> ${n.text}\n`;
        break;
      case 'error':
        s += `${indent} >>>> ${n.text} <<<<\n`;
        break;
      case 'bridge':
        s += `${indent}${n.text}\n${indent}${'-'.repeat(n.text.length)}\n`;
        break;
      default:
        s += `${indent}${n.text}\n`;
    }
    s += formatTrace(n.subs, level + more + more);
  });
  return s;
}
