/** The value layout of per-CPU maps. */
import { LayoutError } from '../errors.js';
import { type Layout, alignUp } from '../codec/layout.js';

/**
 * One value per possible CPU, each in a slot rounded up to 8 bytes: the layout the
 * kernel copies for per-CPU lookups and updates (`round_up(value_size, 8) *
 * num_possible_cpus()`, kernel/bpf/syscall.c `bpf_map_value_size`).
 */
export function perCpuLayout<T>(value: Layout<T>, cpus: number): Layout<T[]> {
  const stride = alignUp(value.size, 8);
  return {
    size: stride * cpus,
    align: 8,
    encode(view, offset, values) {
      if (!Array.isArray(values) || values.length !== cpus) {
        throw new LayoutError(`a per-CPU value needs ${cpus} items (one per possible CPU), got ${Array.isArray(values) ? values.length : typeof values}`);
      }
      for (let i = 0; i < stride * cpus; i++) view.setUint8(offset + i, 0);
      values.forEach((item, cpu) => value.encode(view, offset + cpu * stride, item));
    },
    decode(view, offset) {
      return Array.from({ length: cpus }, (_, cpu) => value.decode(view, offset + cpu * stride));
    },
  };
}
