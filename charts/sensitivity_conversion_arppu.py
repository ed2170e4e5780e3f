"""Forward P/S across paid conversion and ARPPU: how much the subscription build-up matters to the valuation."""

from memo.charts import ChartData, heatmap

TITLE = "Forward P/S by lifetime paid conversion and ARPPU"
SOURCE = "Source: memo calculations; each cell is a full model run at the base case's other inputs."


def build(d: ChartData):
    return heatmap(d, "conversion_arppu", "valuation.ps_forward")
