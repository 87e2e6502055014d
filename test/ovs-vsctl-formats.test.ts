/**
 * Output formats (--format, --data, --no-headings, --pretty, --bare, --columns,
 * --max-column-width, --oneline) and the errors of the command-line grammar (getopt messages,
 * unknown commands, option/argument counts): our ovs-vsctl against real ovs-vsctl 3.1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareScenario, type Step } from './ovs-vsctl-harness.ts';

const port = [
  'add-port',
  'br0',
  'p1',
  'tag=10',
  'other_config:a=b',
  'external_ids:"x y"="a,\\"b"',
  'trunks=1,2,3',
];

const scenarios: Record<string, Step[]> = {
  'every output format and cell format': [
    ['add-br', 'br0'],
    port,
    ['list', 'port', 'p1'],
    ['--format=table', 'list', 'port', 'p1'],
    ['--format=csv', 'list', 'port', 'p1'],
    ['--format=json', 'list', 'port', 'p1'],
    ['-f', 'json', '--pretty', 'list', 'port', 'p1'],
    ['--format=html', '--columns=name,tag,other_config,external_ids', 'list', 'port', 'p1'],
    ['--bare', '--columns=name,tag,trunks,other_config', 'list', 'port', 'p1'],
    ['--data=json', 'list', 'port', 'p1'],
    ['-d', 'bare', '--no-headings', '--format=table', 'list', 'port', 'p1'],
    ['--format=csv', '--data=json', '--no-headings', 'list', 'port', 'p1'],
    ['--format=json', '--data=bare', 'list', 'port', 'p1'],
    [
      '--format=table',
      '--columns=name',
      'list',
      'port',
      'p1',
      '--',
      '--columns=tag',
      'list',
      'port',
      'p1',
    ],
    [
      '--format=csv',
      'list-br',
      '--',
      '--columns=name',
      'list',
      'port',
      'p1',
      '--',
      'get',
      'port',
      'p1',
      'tag',
    ],
    [
      '--max-column-width=5',
      '--format=table',
      '--columns=name,other_config,trunks',
      'list',
      'port',
      'p1',
    ],
    ['--columns=name,external_ids', 'find', 'port', 'tag=10'],
    ['--format=table', '--columns=name', 'find', 'port', 'tag=11'],
    ['--format=json', '--columns=name', 'find', 'port', 'tag=11'],
  ],
  '--oneline': [
    ['add-br', 'br0'],
    port,
    ['--oneline', 'list-br', '--', 'list-ports', 'br0'],
    ['--oneline', 'get', 'port', 'p1', 'tag', '--', 'get', 'port', 'p1', 'trunks', 'external_ids'],
    ['--oneline', 'br-get-external-id', 'br0'],
    ['--oneline', '--columns=name', 'list', 'port', 'p1'],
    [
      '--oneline',
      'set',
      'port',
      'p1',
      'external_ids:z="a\\\\b"',
      '--',
      'get',
      'port',
      'p1',
      'external_ids:z',
    ],
  ],
  'global option and command grammar errors': [
    ['--db'],
    ['--no'],
    ['--i'],
    ['-x'],
    ['-t'],
    ['-t', '0', 'list-br'],
    ['--timeout=abc', 'show'],
    ['--format=x', 'list-br'],
    ['--data=x', 'list-br'],
    ['--no-wait=3', 'list-br'],
    [],
    ['--'],
    ['--may-exist'],
    ['--may-exist', 'list-br'],
    ['foo'],
    ['list'],
    ['list-br', 'x'],
    ['list-br', '-x'],
    ['--columns', 'list', 'bridge'],
    ['--columns=', 'list', 'bridge'],
    ['--', '--if-exists', '--if-exists', 'del-br', 'x'],
    ['--', '--id', 'create', 'qos'],
    ['--', '--all=1', 'destroy', 'qos'],
    ['list-br', '--', '--', 'list-br'],
    ['--no-w', '--dry', 'list-br'],
    ['--version'],
    ['-V'],
    ['--version', '--bogus'],
    ['--help'],
    ['-h', 'x'],
    ['--options'],
  ],
};

describe('formats and grammar', { concurrency: 3 }, () => {
  for (const [name, steps] of Object.entries(scenarios)) {
    test(`same as real ovs-vsctl: ${name}`, async () => {
      const [ours, real] = await compareScenario(steps);
      assert.equal(ours, real);
    });
  }
});
