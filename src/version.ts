/** The program version, recorded in every snapshot and printed by `ebak --version`. Keep equal to package.json. */
export const VERSION = '0.1.0';
