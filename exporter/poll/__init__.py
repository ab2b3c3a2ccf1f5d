"""One poll of one key in phases (list, plan, refresh, publish), and every key's results merged."""
