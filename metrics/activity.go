package metrics

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// activityCollector reads the store's counts at each scrape. The ledger is the truth about
// what was sent, whichever process sent it, and it survives restarts, so its counts are
// exposed as counters: they only grow while a campaign's rows exist.
type activityCollector struct {
	counter Counter
	opts    Options

	up, campaignInfo, messages, queue     *prometheus.Desc
	importRuns, importRows, importRejects *prometheus.Desc
	importStored, sourceRuns, sourceLast  *prometheus.Desc
	sourceLastSeconds, leads              *prometheus.Desc
}

func newActivityCollector(counter Counter, opts Options) *activityCollector {
	d := prometheus.NewDesc
	return &activityCollector{
		counter: counter, opts: opts,
		up: d("leadmailer_database_up", "1 when the last scrape could read the database, 0 when it could not.", nil, nil),
		campaignInfo: d("leadmailer_campaign_info", "A campaign's name and state, 1 for every campaign reported.",
			[]string{"campaign", "name", "state"}, nil),
		messages: d("leadmailer_campaign_messages_total",
			"Ledger rows of a campaign by outcome: sent, failed, skipped; and of the sent ones, bounced_hard, bounced_soft, complained, possibly_delivered (the relay's answer to the end of the message never came). The send rate is rate(leadmailer_campaign_messages_total{outcome=\"sent\"}[5m]).",
			[]string{"campaign", "outcome"}, nil),
		queue: d("leadmailer_campaign_queue_depth", "Ledger rows of a campaign still to send (queued) or handed to the relay without a recorded outcome (sending).",
			[]string{"campaign", "status"}, nil),
		importRuns: d("leadmailer_import_runs_total", "Import runs, by kind (upload, public, website) and source: a configured source's name, or the kind for uploads and website queries.",
			[]string{"kind", "source"}, nil),
		importRows:    d("leadmailer_import_rows_total", "Rows read by import runs.", []string{"kind", "source"}, nil),
		importStored:  d("leadmailer_import_rows_stored_total", "Rows that inserted or updated a lead.", []string{"kind", "source"}, nil),
		importRejects: d("leadmailer_import_rejects_total", "Rows refused by import runs, each with its reason in the run's rejects.", []string{"kind", "source"}, nil),
		sourceRuns: d("leadmailer_source_run_duration_seconds", "Finished runs of a configured source by outcome, and their total duration.",
			[]string{"source", "status"}, nil),
		sourceLast: d("leadmailer_source_last_run_timestamp_seconds", "When a configured source's newest run with this outcome finished (Unix time): alert when the completed one is too old.",
			[]string{"source", "status"}, nil),
		sourceLastSeconds: d("leadmailer_source_last_run_seconds", "How long a configured source's newest run with this outcome took.",
			[]string{"source", "status"}, nil),
		leads: d("leadmailer_leads", "Stored leads by state.", []string{"state"}, nil),
	}
}

func (c *activityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.campaignInfo, c.messages, c.queue, c.importRuns, c.importRows,
		c.importStored, c.importRejects, c.sourceRuns, c.sourceLast, c.sourceLastSeconds, c.leads} {
		ch <- d
	}
}

func (c *activityCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ScrapeTimeout)
	defer cancel()
	a, err := c.counter.Activity(ctx, c.opts.Now().Add(-c.opts.Recent))
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		ch <- prometheus.NewInvalidMetric(c.up, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, cp := range a.Campaigns {
		id := strconv.FormatInt(cp.ID, 10)
		gauge(c.campaignInfo, 1, id, cp.Name, string(cp.State))
		for outcome, n := range map[string]int64{"sent": cp.Sent, "failed": cp.Failed, "skipped": cp.Skipped,
			"bounced_hard": cp.BouncedHard, "bounced_soft": cp.BouncedSoft, "complained": cp.Complained,
			"possibly_delivered": cp.PossiblyDelivered} {
			counter(c.messages, n, id, outcome)
		}
		gauge(c.queue, float64(cp.Queued), id, "queued")
		gauge(c.queue, float64(cp.Sending), id, "sending")
	}
	for _, i := range a.Imports {
		kind := string(i.Kind)
		counter(c.importRuns, i.Runs, kind, i.Source)
		counter(c.importRows, i.RowsRead, kind, i.Source)
		counter(c.importStored, i.Stored, kind, i.Source)
		counter(c.importRejects, i.Rejected, kind, i.Source)
	}
	for _, r := range a.SourceRuns {
		status := string(r.Status)
		ch <- prometheus.MustNewConstSummary(c.sourceRuns, uint64(r.Runs), r.Seconds, nil, r.Source, status)
		gauge(c.sourceLast, float64(r.Last.UnixMilli())/1000, r.Source, status)
		gauge(c.sourceLastSeconds, r.LastSeconds, r.Source, status)
	}
	for state, n := range a.Leads {
		gauge(c.leads, float64(n), string(state))
	}
}
