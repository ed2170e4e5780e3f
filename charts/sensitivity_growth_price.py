"""Forward P/S across new subscription ARR and token price: two of the inputs the valuation moves with most."""

from memo.charts import ChartData, heatmap

TITLE = "Forward P/S by anchored new subscription ARR and VVV price"
SOURCE = "Source: memo calculations; each cell is a full model run. Market cap and FDV move with the token price."


def build(d: ChartData):
    return heatmap(d, "growth_price", "valuation.ps_forward")
