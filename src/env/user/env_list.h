/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Doubly linked lists (list_head, hlist) with the kernel's names and
 * semantics, written for mmusim.  The _rcu variants publish with release
 * stores and read with relaxed atomic loads, so lockless readers inside an
 * RCU read-side section see either the old or the new list.
 */
#ifndef _MMUSIM_ENV_LIST_H
#define _MMUSIM_ENV_LIST_H

#define LIST_POISON1 ((void *)0x100)
#define LIST_POISON2 ((void *)0x122)

struct list_head {
	struct list_head *next, *prev;
};

struct hlist_node {
	struct hlist_node *next, **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	WRITE_ONCE(list->next, list);
	list->prev = list;
}

static inline void __list_add(struct list_head *new, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = new;
	new->next = next;
	new->prev = prev;
	WRITE_ONCE(prev->next, new);
}

static inline void list_add(struct list_head *new, struct list_head *head)
{
	__list_add(new, head, head->next);
}

static inline void list_add_tail(struct list_head *new, struct list_head *head)
{
	__list_add(new, head->prev, head);
}

static inline void __list_del(struct list_head *prev, struct list_head *next)
{
	next->prev = prev;
	WRITE_ONCE(prev->next, next);
}

static inline void list_del(struct list_head *entry)
{
	__list_del(entry->prev, entry->next);
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

static inline void list_del_init(struct list_head *entry)
{
	__list_del(entry->prev, entry->next);
	INIT_LIST_HEAD(entry);
}

static inline void list_move(struct list_head *list, struct list_head *head)
{
	__list_del(list->prev, list->next);
	list_add(list, head);
}

static inline void list_move_tail(struct list_head *list, struct list_head *head)
{
	__list_del(list->prev, list->next);
	list_add_tail(list, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return READ_ONCE(head->next) == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

/* Moves all of @list to the front of @head and reinitialises @list. */
static inline void list_splice_init(struct list_head *list, struct list_head *head)
{
	if (!list_empty(list)) {
		struct list_head *first = list->next, *last = list->prev;
		struct list_head *at = head->next;

		first->prev = head;
		head->next = first;
		last->next = at;
		at->prev = last;
		INIT_LIST_HEAD(list);
	}
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_last_entry(ptr, type, member) list_entry((ptr)->prev, type, member)
#define list_first_entry_or_null(ptr, type, member)                                  \
	({                                                                           \
		struct list_head *__head = (ptr);                                    \
		struct list_head *__pos = READ_ONCE(__head->next);                   \
		__pos != __head ? list_entry(__pos, type, member) : NULL;            \
	})
#define list_next_entry(pos, member) list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_prev_entry(pos, member) list_entry((pos)->member.prev, __typeof__(*(pos)), member)
#define list_entry_is_head(pos, head, member) (&(pos)->member == (head))

#define list_for_each(pos, head) for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_entry(pos, head, member)                                       \
	for (pos = list_first_entry(head, __typeof__(*pos), member);                 \
	     !list_entry_is_head(pos, head, member); pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)                               \
	for (pos = list_first_entry(head, __typeof__(*pos), member),                 \
	    n = list_next_entry(pos, member);                                        \
	     !list_entry_is_head(pos, head, member); pos = n, n = list_next_entry(n, member))

#define list_for_each_entry_safe_reverse(pos, n, head, member)                       \
	for (pos = list_last_entry(head, __typeof__(*pos), member),                  \
	    n = list_prev_entry(pos, member);                                        \
	     !list_entry_is_head(pos, head, member); pos = n, n = list_prev_entry(n, member))

/* RCU-safe list operations (writers still serialise among themselves). */
static inline void list_add_rcu(struct list_head *new, struct list_head *head)
{
	struct list_head *next = head->next;

	new->next = next;
	new->prev = head;
	__atomic_store_n(&head->next, new, __ATOMIC_RELEASE);
	next->prev = new;
}

static inline void list_add_tail_rcu(struct list_head *new, struct list_head *head)
{
	struct list_head *prev = head->prev;

	new->next = head;
	new->prev = prev;
	__atomic_store_n(&prev->next, new, __ATOMIC_RELEASE);
	head->prev = new;
}

/* The entry's ->next stays valid for readers until a grace period elapses. */
static inline void list_del_rcu(struct list_head *entry)
{
	__list_del(entry->prev, entry->next);
	entry->prev = LIST_POISON2;
}

#define list_entry_rcu(ptr, type, member)                                            \
	container_of(__atomic_load_n(&(ptr), __ATOMIC_ACQUIRE), type, member)
#define list_for_each_entry_rcu(pos, head, member, ...)                              \
	for (pos = list_entry_rcu((head)->next, __typeof__(*pos), member);           \
	     !list_entry_is_head(pos, head, member);                                 \
	     pos = list_entry_rcu(pos->member.next, __typeof__(*pos), member))

#define HLIST_HEAD_INIT { .first = NULL }
#define INIT_HLIST_HEAD(ptr) ((ptr)->first = NULL)

static inline void INIT_HLIST_NODE(struct hlist_node *h)
{
	h->next = NULL;
	h->pprev = NULL;
}

static inline bool hlist_unhashed(const struct hlist_node *h)
{
	return !h->pprev;
}

static inline bool hlist_empty(const struct hlist_head *h)
{
	return !READ_ONCE(h->first);
}

static inline void hlist_add_head(struct hlist_node *n, struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	if (first)
		first->pprev = &n->next;
	WRITE_ONCE(h->first, n);
	n->pprev = &h->first;
}

static inline void __hlist_del(struct hlist_node *n)
{
	struct hlist_node *next = n->next;
	struct hlist_node **pprev = n->pprev;

	WRITE_ONCE(*pprev, next);
	if (next)
		next->pprev = pprev;
}

static inline void hlist_del(struct hlist_node *n)
{
	__hlist_del(n);
	n->next = LIST_POISON1;
	n->pprev = LIST_POISON2;
}

static inline void hlist_del_init(struct hlist_node *n)
{
	if (!hlist_unhashed(n)) {
		__hlist_del(n);
		INIT_HLIST_NODE(n);
	}
}

#define hlist_entry(ptr, type, member) container_of(ptr, type, member)
#define hlist_entry_safe(ptr, type, member)                                          \
	({                                                                           \
		__typeof__(ptr) ____ptr = (ptr);                                     \
		____ptr ? hlist_entry(____ptr, type, member) : NULL;                 \
	})
#define hlist_for_each_entry(pos, head, member)                                      \
	for (pos = hlist_entry_safe((head)->first, __typeof__(*(pos)), member); pos;  \
	     pos = hlist_entry_safe((pos)->member.next, __typeof__(*(pos)), member))
#define hlist_for_each_entry_safe(pos, n, head, member)                              \
	for (pos = hlist_entry_safe((head)->first, __typeof__(*pos), member);         \
	     pos && ({                                                               \
		     n = pos->member.next;                                           \
		     1;                                                              \
	     });                                                                     \
	     pos = hlist_entry_safe(n, __typeof__(*pos), member))

#endif /* _MMUSIM_ENV_LIST_H */
