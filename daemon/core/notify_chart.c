/* The e-mail's chart (notify_chart.h): an XmR run chart of the last periods drawn with
 * cairo into an image surface and written out as PNG in memory. Pure computation: no I/O. */
#include "scaleupd/core/notify_chart.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/core/alloc.h"
#include "scaleupd/core/dynbuf.h"

#define SCALE NOTIFY_CHART_SCALE
#define PAD_LEFT 46.0
#define PAD_RIGHT 14.0
#define PAD_TOP 12.0
#define PAD_BOTTOM 22.0
#define PNG_MAX ((size_t)4 * 1024 * 1024)

/* Where the points fall: the drawn range of points and the value range. */
struct frame {
    const struct notify_chart_point *p;
    size_t n;
    double w, h, lo, hi;
};

static double fx(const struct frame *f, size_t i)
{
    double inner = f->w - PAD_LEFT - PAD_RIGHT;
    return PAD_LEFT + (f->n > 1 ? inner * (double)i / (double)(f->n - 1) : inner / 2);
}

static double fy(const struct frame *f, double v)
{
    double inner = f->h - PAD_TOP - PAD_BOTTOM;
    return PAD_TOP + inner * (f->hi - v) / (f->hi - f->lo);
}

static void widen(double *lo, double *hi, double v)
{
    if (!isfinite(v))
        return;
    *lo = fmin(*lo, v);
    *hi = fmax(*hi, v);
}

/* The value range of the drawn points, padded; false when no point has a value. */
static bool frame_range(struct frame *f)
{
    double lo = INFINITY, hi = -INFINITY;
    bool any = false;
    for (size_t i = 0; i < f->n; i++) {
        const struct notify_chart_point *p = &f->p[i];
        if (p->has_value)
            widen(&lo, &hi, p->value), any = any || isfinite(p->value);
        if (p->has_limits) {
            widen(&lo, &hi, p->lower_limit);
            widen(&lo, &hi, p->upper_limit);
            widen(&lo, &hi, p->mean);
        }
    }
    if (!any)
        return false;
    double pad = hi > lo ? (hi - lo) * 0.08 : fmax(fabs(hi) * 0.1, 1.0);
    f->lo = lo - pad;
    f->hi = hi + pad;
    return true;
}

/* A line through field of each point that has it (a gap where one does not). */
static void draw_series(cairo_t *cr, const struct frame *f, int field)
{
    bool pen = false;
    for (size_t i = 0; i < f->n; i++) {
        const struct notify_chart_point *p = &f->p[i];
        double v = field == 0   ? p->value
                   : field == 1 ? p->mean
                   : field == 2 ? p->lower_limit
                                : p->upper_limit;
        bool has = (field == 0 ? p->has_value : p->has_limits) && isfinite(v);
        if (!has) {
            pen = false;
            continue;
        }
        if (pen)
            cairo_line_to(cr, fx(f, i), fy(f, v));
        else
            cairo_move_to(cr, fx(f, i), fy(f, v));
        pen = true;
    }
    cairo_stroke(cr);
}

static void label(cairo_t *cr, double x, double y, const char *text, double align)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text, &ext);
    cairo_move_to(cr, x - ext.x_advance * align, y);
    cairo_show_text(cr, text);
}

/* The axes' words: the latest limits and centre (else the value range) at the left, the
 * first and last periods below. */
static void draw_labels(cairo_t *cr, const struct frame *f)
{
    char text[32];
    cairo_set_source_rgb(cr, 0.32, 0.38, 0.43);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 10);
    const struct notify_chart_point *last = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->p[i].has_limits)
            last = &f->p[i];
    double marks[3] = {f->hi, NAN, f->lo};
    if (last != NULL)
        marks[0] = last->upper_limit, marks[1] = last->mean, marks[2] = last->lower_limit;
    for (int k = 0; k < 3; k++) {
        if (!isfinite(marks[k]))
            continue;
        snprintf(text, sizeof(text), "%.3g", marks[k]);
        label(cr, PAD_LEFT - 6, fy(f, marks[k]) + 3.5, text, 1);
    }
    label(cr, fx(f, 0), f->h - 6, f->p[0].period ? f->p[0].period : "", 0);
    if (f->n > 1)
        label(cr, fx(f, f->n - 1), f->h - 6, f->p[f->n - 1].period ? f->p[f->n - 1].period : "", 1);
}

static void dot(cairo_t *cr, double x, double y, double r, double red, double green, double blue)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * M_PI);
    cairo_set_source_rgb(cr, red, green, blue);
    cairo_fill(cr);
}

/* The values: grey dots for common cause, coloured ones for special causes, and a ring
 * with its value around the marked point. */
static void draw_points(cairo_t *cr, const struct frame *f, const struct notify_chart *c)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct notify_chart_point *p = &f->p[i];
        if (!p->has_value || !isfinite(p->value))
            continue;
        double x = fx(f, i), y = fy(f, p->value);
        /* the dashboard's colours (web/js/charts.js): blue, orange, purple; grey common */
        static const double colours[][3] = {
            {0.23, 0.29, 0.35}, {0.16, 0.62, 0.88}, {0.89, 0.42, 0.04}, {0.48, 0.37, 0.65}};
        const double *c3 = colours[p->variation <= NOTIFY_CHART_NEUTRAL ? p->variation : 0];
        dot(cr, x, y, p->variation == NOTIFY_CHART_COMMON ? 2.4 : 3.4, c3[0], c3[1], c3[2]);
        if (c->marked == NULL || p->period == NULL || strcmp(c->marked, p->period) != 0)
            continue;
        cairo_set_source_rgb(cr, 0.75, 0.1, 0.1);
        cairo_set_line_width(cr, 2);
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, 7, 0, 2 * M_PI);
        cairo_stroke(cr);
        char text[64];
        snprintf(text, sizeof(text), "%.4g%s%s", p->value, c->unit && c->unit[0] ? " " : "",
                 c->unit ? c->unit : "");
        cairo_set_font_size(cr, 11);
        label(cr, x - 10, y < PAD_TOP + 20 ? y + 18 : y - 11, text, 1);
    }
}

static void draw(cairo_t *cr, const struct frame *f, const struct notify_chart *c)
{
    cairo_scale(cr, SCALE, SCALE);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    double dash[] = {5, 4};
    cairo_set_source_rgb(cr, 0.6, 0.65, 0.69);
    cairo_set_line_width(cr, 1.2);
    cairo_set_dash(cr, dash, 2, 0);
    draw_series(cr, f, 2);
    draw_series(cr, f, 3);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0.18, 0.18, 0.18);
    draw_series(cr, f, 1);
    cairo_set_source_rgb(cr, 0.23, 0.29, 0.35);
    cairo_set_line_width(cr, 1.6);
    draw_series(cr, f, 0);
    draw_points(cr, f, c);
    draw_labels(cr, f);
}

static cairo_status_t write_png(void *closure, const unsigned char *data, unsigned int length)
{
    return dynbuf_add(closure, data, length) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

bool notify_chart_png(const struct notify_chart *c, unsigned char **png, size_t *size)
{
    size_t skip = c->n > NOTIFY_CHART_POINTS ? c->n - NOTIFY_CHART_POINTS : 0;
    struct frame f = {.p = c->points + skip, .n = c->n - skip, .w = c->width, .h = c->height};
    if (f.n == 0 || c->width < 100 || c->height < 60 || !frame_range(&f))
        return false;
    cairo_surface_t *surface = cairo_image_surface_create(
        CAIRO_FORMAT_RGB24, (int)(c->width * SCALE), (int)(c->height * SCALE));
    cairo_t *cr = cairo_create(surface);
    draw(cr, &f, c);
    bool ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    struct dynbuf out;
    dynbuf_init(&out, PNG_MAX);
    ok = ok && cairo_surface_write_to_png_stream(surface, write_png, &out) == CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(surface);
    if (!ok || out.overflow) {
        dynbuf_free(&out);
        return false;
    }
    *png = (unsigned char *)dynbuf_take(&out, size);
    return true;
}
