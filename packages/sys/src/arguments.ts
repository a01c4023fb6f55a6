import { SysError } from './errors.js';

/** Refuses (`EINVAL`, naming `call`) anything that is not a file descriptor: a non-negative 32-bit integer. */
export function checkFd(call: string, fd: number): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw SysError.invalid(call, `fd ${String(fd)} is not a file descriptor`);
}

/** Refuses (`EINVAL`, naming `call` and `name`) anything that is not an integer within min..max. */
export function checkInteger(call: string, name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw SysError.invalid(call, `${name} ${String(value)} is not an integer within ${min}..${max}`);
}
