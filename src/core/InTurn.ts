/**
 * Work over many job types in bounded shares: each turn takes the next `perTurn` items after the
 * last turn's, wrapping around, so every item comes up once in ⌈items / perTurn⌉ turns. Used where a
 * loop's store reads must stay bounded however many job types there are (the supervisor, /events).
 */

/** This turn's items (all of them when they fit) and where the next turn starts. */
export const nextShare = <T>(
  all: ReadonlyArray<T>,
  perTurn: number,
  start: number,
): readonly [share: ReadonlyArray<T>, next: number] => {
  if (all.length <= perTurn) return [all, 0]
  const from = start % all.length
  return [
    Array.from({ length: perTurn }, (_, i) => all[(from + i) % all.length]!),
    (from + perTurn) % all.length,
  ]
}
