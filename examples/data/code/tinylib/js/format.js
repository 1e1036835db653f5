// Format a byte count for people: 1536 -> "1.5 KB".
const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatBytes(n) {
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || n >= 10 ? 0 : 1;
  return `${n.toFixed(digits)} ${UNITS[unit]}`;
}
