"""The funding service: the 1,500 M€ envelope of Pôles 2.0, its lines, commitments, payments and
the other financers' ledgers; the sum committed on a line never exceeds the line."""
