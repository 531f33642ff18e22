// The addresses Green API says it sends webhooks from, for `receive.allowFrom: ["green-api"]`.
// Source: "Our public IP-addresses which we sent webhooks from",
// https://green-api.com/he/docs/api/receiving/technology-webhook-endpoint/ (2026; see
// ../shared/docs/green-api-webhooks.md §1.2). Green API changes this list without notice: the 2023
// list shared only one address with today's. Keep it current, or list networks yourself.
export const GREEN_API_SENDERS = [
  '46.101.109.139',
  '51.250.12.167',
  '51.250.84.44',
  '51.250.95.149',
  '89.169.137.216',
  '158.160.49.84',
  '165.22.93.202',
  '167.172.162.71',
  '104.248.252.93',
  '158.160.139.176',
  '64.226.111.11',
  '207.154.255.195',
] as const;
