/* The HTTP edge's own start-up duties. The route table itself is app_routes (app.h). */
#ifndef SCALEUPD_ROUTES_H
#define SCALEUPD_ROUTES_H

/* Declares the metric families of the HTTP edge; call once at start-up. */
void routes_describe_metrics(void);

#endif
