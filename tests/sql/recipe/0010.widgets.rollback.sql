-- Undo 0010.widgets.
DROP TABLE widgets;
