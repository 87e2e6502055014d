import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommands } from './commands.ts';
import { VsctlError } from './ctl.ts';
import { encodeArguments } from './main.ts';

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VsctlError) return e.message;
    throw e;
  }
  return '';
}

test('commands are split at "--" and carry their own options', () => {
  const cmds = parseCommands(
    ['add-br', 'b', '--', '--may-exist', 'add-port', 'b', 'p', 'tag=1'],
    new Map(),
  );
  assert.deepEqual(
    cmds.map((c) => [c.argv, [...c.options]]),
    [
      [['add-br', 'b'], []],
      [['add-port', 'b', 'p', 'tag=1'], [['--may-exist', null]]],
    ],
  );
  const withLocal = parseCommands(['create', 'qos', 'type=x'], new Map([['--id', '@q']]));
  assert.equal(withLocal[0]?.options.get('--id'), '@q');
});

test('grammar errors carry real ovs-vsctl messages', () => {
  const e = (words: string[]) => errorOf(() => parseCommands(words, new Map()));
  assert.equal(e([]), 'missing command name (use --help for help)');
  assert.equal(e(['foo']), "unknown command 'foo'; use --help for help");
  assert.equal(e(['--may-exist', 'list-br']), "'list-br' command has no '--may-exist' option");
  assert.equal(
    e(['--id', 'create', 'qos']),
    "missing argument to '--id' option on 'create' command",
  );
  assert.equal(
    e(['--all=1', 'destroy', 'qos']),
    "'--all' option on 'destroy' does not accept an argument",
  );
  assert.equal(e(['--all', '--all', 'destroy', 'qos']), "'--all' option specified multiple times");
  assert.equal(e(['list']), "'list' command requires at least 1 arguments");
  assert.equal(e(['list-br', 'x']), "'list-br' command takes at most 0 arguments");
  assert.equal(
    e(['br-exists', 'a', '--if-exists']),
    '\'br-exists\' command takes at most 1 arguments (note that options must precede command names and follow a "--" argument)',
  );
});

test('--commands argument encoding (golden values from real ovs-vsctl 3.1 --commands)', () => {
  assert.equal(encodeArguments('TABLE RECORD [COLUMN[:KEY]]...'), '!TABLE !RECORD *COLUMN?:KEY');
  assert.equal(encodeArguments('[BRIDGE] PORT|IFACE'), '?BRIDGE !PORT|IFACE');
  assert.equal(
    encodeArguments('TABLE RECORD COLUMN [KEY=]VALUE...'),
    '!TABLE !RECORD !COLUMN +?KEY=VALUE',
  );
  assert.equal(encodeArguments('NEW-BRIDGE [PARENT] [NEW-VLAN]'), '!NEW-BRIDGE ?PARENT ?NEW-VLAN');
  assert.equal(encodeArguments('[ARG]...'), '*ARG');
  assert.equal(encodeArguments('BRIDGE TARGET...'), '!BRIDGE +TARGET');
  assert.equal(encodeArguments(''), '');
});
