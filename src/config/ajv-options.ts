/** One set of ajv options for the validators compiled at start (plugins) and those generated at build (validators-source.ts). */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, verbose: true, strict: false } as const;
