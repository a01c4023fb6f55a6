/**
 * Parses a kernel CPU list such as `0-3,8,10-11` (the format of
 * /sys/devices/system/cpu/possible) into the CPU numbers, ascending.
 * @throws {RangeError} for anything else.
 */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  const trimmed = text.trim();
  if (trimmed === '') throw new RangeError('empty CPU list');
  for (const part of trimmed.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match?.[1]) throw new RangeError(`bad CPU list ${JSON.stringify(text)}`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new RangeError(`bad CPU range ${part}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}
