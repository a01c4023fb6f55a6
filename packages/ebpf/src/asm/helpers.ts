/**
 * Helper function ids: `__BPF_FUNC_MAPPER` in include/uapi/linux/bpf.h, where a helper's
 * id is its position in the list. The Linux version that added each is noted.
 */
import { AsmError } from '../errors.js';

/** Helper ids by name (the part after `bpf_`). */
export const Helper = {
  map_lookup_elem: 1, // 3.19
  map_update_elem: 2, // 3.19
  map_delete_elem: 3, // 3.19
  probe_read: 4, // 4.1
  ktime_get_ns: 5, // 4.1
  trace_printk: 6, // 4.1
  get_prandom_u32: 7, // 4.1
  get_smp_processor_id: 8, // 4.1
  skb_store_bytes: 9, // 4.1
  l3_csum_replace: 10, // 4.1
  l4_csum_replace: 11, // 4.1
  tail_call: 12, // 4.2
  clone_redirect: 13, // 4.2
  get_current_pid_tgid: 14, // 4.2
  get_current_uid_gid: 15, // 4.2
  get_current_comm: 16, // 4.2
  get_cgroup_classid: 17, // 4.3
  skb_vlan_push: 18, // 4.3
  skb_vlan_pop: 19, // 4.3
  skb_get_tunnel_key: 20, // 4.3
  skb_set_tunnel_key: 21, // 4.3
  perf_event_read: 22, // 4.3
  redirect: 23, // 4.4
  get_route_realm: 24, // 4.4
  perf_event_output: 25, // 4.4
  skb_load_bytes: 26, // 4.5
  get_stackid: 27, // 4.6
  csum_diff: 28, // 4.6
  skb_change_proto: 31, // 4.8
  skb_change_type: 32, // 4.8
  get_hash_recalc: 34, // 4.8
  get_current_task: 35, // 4.8
  skb_change_tail: 38, // 4.9
  skb_pull_data: 39, // 4.9
  csum_update: 40, // 4.9
  get_numa_node_id: 42, // 4.10
  skb_change_head: 43, // 4.10
  xdp_adjust_head: 44, // 4.10
  probe_read_str: 45, // 4.11
  get_socket_cookie: 46, // 4.12
  get_socket_uid: 47, // 4.12
  set_hash: 48, // 4.13
  skb_adjust_room: 50, // 4.13
  redirect_map: 51, // 4.14
  sk_redirect_map: 52, // 4.14
  xdp_adjust_meta: 54, // 4.15
  xdp_adjust_tail: 65, // 4.18
  skb_load_bytes_relative: 68, // 4.18
  fib_lookup: 69, // 4.18
  skb_cgroup_id: 79, // 4.18
  get_current_cgroup_id: 80, // 4.18
  sk_lookup_tcp: 84, // 4.20
  sk_lookup_udp: 85, // 4.20
  sk_release: 86, // 4.20
  map_push_elem: 87, // 4.20
  map_pop_elem: 88, // 4.20
  map_peek_elem: 89, // 4.20
  spin_lock: 93, // 5.1
  spin_unlock: 94, // 5.1
  sk_fullsock: 95, // 5.1
  tcp_sock: 96, // 5.1
  skb_ecn_set_ce: 97, // 5.1
  skc_lookup_tcp: 99, // 5.2
  probe_read_user: 112, // 5.5
  probe_read_kernel: 113, // 5.5
  jiffies64: 118, // 5.5
  get_netns_cookie: 122, // 5.7
  sk_assign: 124, // 5.7
  ktime_get_boot_ns: 125, // 5.8
  ringbuf_output: 130, // 5.8
  ringbuf_reserve: 131, // 5.8
  ringbuf_submit: 132, // 5.8
  ringbuf_discard: 133, // 5.8
  ringbuf_query: 134, // 5.8
  csum_level: 135, // 5.8
  skb_cgroup_classid: 151, // 5.10
  redirect_neigh: 152, // 5.10
  redirect_peer: 155, // 5.10
  ktime_get_coarse_ns: 160, // 5.11
  check_mtu: 163, // 5.12
  for_each_map_elem: 164, // 5.13
  snprintf: 165, // 5.13
  timer_init: 169, // 5.15
  timer_set_callback: 170, // 5.15
  timer_start: 171, // 5.15
  timer_cancel: 172, // 5.15
  loop: 181, // 5.17
  xdp_get_buff_len: 188, // 5.18
  xdp_load_bytes: 189, // 5.18
  xdp_store_bytes: 190, // 5.18
  skb_set_tstamp: 192, // 5.18
  map_lookup_percpu_elem: 195, // 5.19
  ktime_get_tai_ns: 208, // 6.1
} as const;

/** A helper name from {@link Helper}. */
export type HelperName = keyof typeof Helper;

/**
 * The id of a helper given by name (with or without the `bpf_` prefix) or by number.
 * @throws {AsmError} for a name not in {@link Helper}.
 */
export function helperId(helper: HelperName | number | string): number {
  if (typeof helper === 'number') {
    if (!Number.isInteger(helper) || helper <= 0) throw new AsmError(`helper id ${helper} is not a positive integer`);
    return helper;
  }
  const name = helper.startsWith('bpf_') ? helper.slice(4) : helper;
  const id = (Helper as Record<string, number>)[name];
  if (id === undefined) throw new AsmError(`unknown helper ${JSON.stringify(helper)}: not in the helper table`);
  return id;
}
