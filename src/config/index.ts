/**
 * ebak's configuration: one schema of every flag and environment variable
 * (schema.ts), the parser that reads a command's flags against it and
 * reports all problems at once (flags.ts), the reader of the environment
 * into typed settings (environment.ts), and the help generated from the
 * schema (help.ts). The CLI is its only user; the layers below receive typed
 * options and never read the environment.
 */
export { FLAGS, VARIABLES, GLOBAL, ownFlags, globalFlags, type FlagSpec, type VariableSpec } from './schema.js';
export { parseFlags, parseGlobals, type ParsedFlags } from './flags.js';
export { awsEnvironment, environment, s3Environment, sourceEnvironment, writingEnvironment, type Environment, type S3Environment } from './environment.js';
export { commandHelp, mainHelp, type HelpCommand } from './help.js';
export { bashCompletion, fishCompletion, manPage, zshCompletion } from './completion.js';
export { problemsError } from './problems.js';
