"""The Qt front end: widgets, the graph scene and plots. Talks to core via signals."""
