-- wrk's summary as one machine-readable line for bench/lib/tools.ts. Only done() is defined:
-- a per-response Lua callback would make wrk parse every response in Lua and slow it down.
-- errors.status is wrk's count of responses with a status of 400 or more.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests":%.0f,"bytes":%.0f,"durationUs":%.0f,"statusErrors":%.0f,' ..
    '"connectErrors":%.0f,"readErrors":%.0f,"writeErrors":%.0f,"timeouts":%.0f,' ..
    '"p50Us":%.0f,"p99Us":%.0f}\n',
    summary.requests, summary.bytes, summary.duration, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
