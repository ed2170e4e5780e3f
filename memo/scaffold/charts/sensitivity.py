"""The sensitivity grid as a heatmap: forward EV/ARR by churn and new seats.

memo.charts.heatmap draws any grid of the assumptions' sensitivity: section for one of its figures, outlines the
base case and writes the alt text from the cells.
"""

from memo.charts import ChartData, heatmap

TITLE = "EV to forward ARR by churn and new seats"
SOURCE = "Source: memo calculations; each cell is a full run of the model."


def build(d: ChartData):
    return heatmap(d, "churn_additions", "valuation.ev_arr_forward")
