"""The matching core of Maillage: plain data in, plain data out. Never imports Django."""
