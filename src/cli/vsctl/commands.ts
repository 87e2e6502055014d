/**
 * The command table and the grammar that splits the words after the global options into
 * commands: `[--OPTION[=VALUE]]... COMMAND [ARG]...` groups separated by "--"
 * (OVS's ctl_parse_commands / parse_command).
 */
import { type CommandOptions, type CommandSyntax, fatal, type ParsedCommand } from './ctl.ts';
import { DB_COMMANDS } from './db-commands.ts';
import { VSWITCH_COMMANDS } from './vswitch-commands.ts';

export const ALL_COMMANDS: ReadonlyMap<string, CommandSyntax> = new Map(
  [...DB_COMMANDS, ...VSWITCH_COMMANDS].map((c) => [c.name, c]),
);

function parseCommand(words: readonly string[], local: CommandOptions): ParsedCommand {
  const options: CommandOptions = new Map(local);
  local.clear();
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i] as string;
    if (w[0] !== '-') break;
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    const value = eq < 0 ? null : w.slice(eq + 1);
    if (options.has(key)) fatal(`'${w}' option specified multiple times`);
    options.set(key, value);
  }
  if (i === words.length) fatal('missing command name (use --help for help)');
  const name = words[i] as string;
  const syntax = ALL_COMMANDS.get(name);
  if (!syntax) fatal(`unknown command '${name}'; use --help for help`);
  for (const [key, value] of options) {
    // OVS matches an option anywhere inside the command's option string (strstr).
    const at = syntax.options.indexOf(key);
    const end = at < 0 ? 'EOF' : (syntax.options[at + key.length] ?? '\0');
    if (!'=,? \0'.includes(end) || end === 'EOF') fatal(`'${name}' command has no '${key}' option`);
    if (end !== '?' && (end === '=') !== (value !== null)) {
      if (end === '=') fatal(`missing argument to '${key}' option on '${name}' command`);
      fatal(`'${key}' option on '${name}' does not accept an argument`);
    }
  }
  const nArg = words.length - i - 1;
  if (nArg < syntax.minArgs)
    fatal(`'${syntax.name}' command requires at least ${syntax.minArgs} arguments`);
  if (nArg > syntax.maxArgs) {
    if (words.slice(i + 1).some((w) => w[0] === '-')) {
      fatal(
        `'${syntax.name}' command takes at most ${syntax.maxArgs} arguments (note that options must precede command names and follow a "--" argument)`,
      );
    }
    fatal(`'${syntax.name}' command takes at most ${syntax.maxArgs} arguments`);
  }
  return { syntax, argv: words.slice(i), options, output: '', table: null };
}

/** Splits `words` at "--" and parses each command. */
export function parseCommands(words: readonly string[], local: CommandOptions): ParsedCommand[] {
  const commands: ParsedCommand[] = [];
  let start = 0;
  for (let i = 0; i <= words.length; i++) {
    if (i === words.length || words[i] === '--') {
      if (i > start) commands.push(parseCommand(words.slice(start, i), local));
      else if (local.size > 0) fatal('missing command name (use --help for help)');
      start = i + 1;
    }
  }
  if (commands.length === 0) fatal('missing command name (use --help for help)');
  return commands;
}
