/**
 * A copy of `o` with the fields of `extra` added, keeping o's prototype:
 * spreading (`{ ...o }`) copies own fields only, so it drops what a class
 * gives through its prototype (the `blobs` getter of an EncodedPack,
 * src/repository/format/indexfile.ts).
 */
export function copyWith<O extends object, E extends object>(o: O, extra: E): O & E {
  return Object.assign(Object.create(Object.getPrototypeOf(o) as object) as O, o, extra);
}
